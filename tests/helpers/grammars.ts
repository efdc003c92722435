/** Bounded grammars and regexes for constrained decoding tests, each with an independent oracle (JavaScript's RegExp, JSON.parse). */
import type { ResponseFormat } from '../../src/contract/types';

export interface FormatCase {
  format: ResponseFormat;
  valid(text: string): boolean;
}

const whole = (pattern: string) => (text: string) => new RegExp(`^(?:${pattern})$`).test(text);
const regex = (pattern: string): FormatCase => ({ format: { type: 'regex', regex: pattern }, valid: whole(pattern) });
/** A GBNF grammar and a regex for the same language. */
const gbnf = (grammar: string, oracle: (text: string) => boolean): FormatCase => ({ format: { type: 'grammar', grammar }, valid: oracle });

/** Every language is finite, so a constrained output must end (only EOS is left once the grammar is complete). */
export const REGEXES: Record<string, FormatCase> = {
  answer: regex('yes|no|maybe'),
  phone: regex('\\d{3}-\\d{4}'),
  names: regex('[A-Z][a-z]{1,6}( [A-Z][a-z]{1,6}){0,2}'),
  decimal: regex('-?(0|[1-9]\\d{0,5})(\\.\\d{1,3})?'),
  hex: regex('#[0-9a-f]{6}'),
  pairs: regex('(ab|cd){1,4}x'),
  email: regex('[a-z]{2,5}@[a-z]{2,5}\\.(com|org)'),
  tuple: regex('\\((\\d,){0,3}\\d\\)'),
  quoted: regex('"[^"\\\\\\n]{0,10}"'),
  literal: regex('true|false|null'),
};

export const GRAMMARS: Record<string, FormatCase> = {
  date: gbnf('root ::= year "-" month "-" day\nyear ::= [0-9]{4}\nmonth ::= "0" [1-9] | "1" [0-2]\nday ::= [0-2] [0-9] | "3" [01]', whole('\\d{4}-(0[1-9]|1[0-2])-([0-2]\\d|3[01])')),
  list: gbnf('# 0-3 quoted words\nroot ::= "[" ( item ( "," item ){0,2} )? "]"\nitem ::= "\\"" [^"\\\\\\n]{1,5} "\\""', whole('\\[("[^"\\\\\\n]{1,5}"(,"[^"\\\\\\n]{1,5}"){0,2})?\\]')),
  sum: gbnf('root ::= num (op num){0,3}\nop ::= [-+*/]\nnum ::= [1-9] [0-9]{0,2}', whole('[1-9]\\d{0,2}([-+*/][1-9]\\d{0,2}){0,3}')),
  settings: gbnf('root ::= pair ("; " pair){0,2}\npair ::= key "=" value\nkey ::= [a-z]{1,4}\nvalue ::= [0-9]{1,3} | "\\"" [a-z ]{0,6} "\\""', whole('[a-z]{1,4}=(\\d{1,3}|"[a-z ]{0,6}")(; [a-z]{1,4}=(\\d{1,3}|"[a-z ]{0,6}")){0,2}')),
  nested: gbnf('root ::= "[" (val ("," val){0,2})? "]"\nval ::= [0-9] | inner\ninner ::= "[" ([0-9] ("," [0-9]){0,2})? "]"', (text) => {
    try {
      const v: unknown = JSON.parse(text);
      return Array.isArray(v) && v.length <= 3 && v.every((x) => (typeof x === 'number' && x < 10) || (Array.isArray(x) && x.length <= 3)) && !/\s/.test(text);
    } catch {
      return false;
    }
  }),
};
