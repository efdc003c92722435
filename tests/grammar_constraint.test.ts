/** GBNF and regex constraints on the CPU: parsing, recognition (against JavaScript's RegExp), refusals, token-trie masks. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../src/contract/errors';
import { compileFormat, startConstraint, TokenTrie } from '../src/decode/constraints';
import type { ResponseFormat } from '../src/contract/types';

function accepts(format: ResponseFormat, text: string): boolean {
  const { automaton, start } = compileFormat(format)!;
  let s: unknown = start;
  for (const c of text) s = s === undefined ? undefined : automaton.feed(s, c);
  return s !== undefined && automaton.accepting(s);
}

const gbnf = (grammar: string): ResponseFormat => ({ type: 'grammar', grammar });
const regex = (r: string): ResponseFormat => ({ type: 'regex', regex: r });

/** llama.cpp's grammars/arithmetic.gbnf, and a JSON-ish list in its style (comments, classes, repetitions, groups across lines). */
const ARITHMETIC = `root  ::= (expr "=" ws term "\\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \\t\\n]*`;
const LIST = `# a list of 1-3 quoted words
root ::= "[" ( item ( "," item ){0,2} )? "]"
item ::= "\\"" [^"\\\\]{1,5} "\\""`;

describe('GBNF', () => {
  it('recognises what llama.cpp grammars describe', () => {
    expect(accepts(gbnf(ARITHMETIC), 'a+1=b\n')).toBe(true);
    expect(accepts(gbnf(ARITHMETIC), '(x*2) =y\nz=3\n')).toBe(true);
    expect(accepts(gbnf(ARITHMETIC), 'a+=b\n')).toBe(false);
    expect(accepts(gbnf(ARITHMETIC), 'a=b')).toBe(false);
    expect(accepts(gbnf(LIST), '[]') && accepts(gbnf(LIST), '["ab","c","de"]')).toBe(true);
    expect(accepts(gbnf(LIST), '["ab","c","de","f"]') || accepts(gbnf(LIST), '["abcdef"]') || accepts(gbnf(LIST), '[""]')).toBe(false);
    expect(accepts(gbnf('root ::= "yes" | "no" | .'), 'x') && accepts(gbnf('root ::= "yes" | "no" | .'), 'no')).toBe(true);
    expect(accepts(gbnf('root ::= [\\x41-\\u0043]{2}'), 'AC') && !accepts(gbnf('root ::= [\\x41-\\u0043]{2}'), 'AD')).toBe(true);
  });

  it('refuses bad grammars with InvalidRequestError naming the field', () => {
    for (const bad of ['root ::= missing', 'start ::= "a"', 'root ::= "a', 'root ::= [a-', 'root ::= root "a"', 'root ::= "a"{2,1}', 'root ::= "a" root ::= "b"', 'root ::= <[12]>', 'root ::= "a"{5000}']) {
      expect(() => compileFormat(gbnf(bad)), bad).toThrow(InvalidRequestError);
      try {
        compileFormat(gbnf(bad));
      } catch (e) {
        expect((e as InvalidRequestError).details).toMatchObject({ field: 'response_format.grammar' });
      }
    }
  });
});

describe('regex', () => {
  const PATTERNS = ['a|bc*', '(ab|a)(c|bcd)?', '\\d{2,3}-\\w+', '[^a-c]{1,2}x?', '(?:x|y)+z{0,2}', '[a-c\\d]*\\.', '.\\s\\S', 'a{2,}b?', '(a*)*b', '[-a]+|\\$'];
  const alphabet = fc.constantFrom(...'abcdxyz0129-_. \n$');

  it('accepts exactly what JavaScript matches whole, on random strings', () => {
    fc.assert(fc.property(fc.constantFrom(...PATTERNS), fc.array(alphabet, { maxLength: 7 }), (pattern, chars) => {
      const text = chars.join('');
      expect(accepts(regex(pattern), text), `${pattern} on ${JSON.stringify(text)}`).toBe(new RegExp(`^(?:${pattern})$`).test(text));
    }), { numRuns: 3000 });
  });

  it('refuses what it does not support, by name', () => {
    for (const bad of ['(a', 'a)', '*a', 'a**', '(?=a)', '\\1', '\\bx', 'a^b', '[b-a]']) {
      expect(() => compileFormat(regex(bad)), bad).toThrow(InvalidRequestError);
    }
    expect(accepts(regex('^ab$'), 'ab')).toBe(true);
  });
});

describe('token trie masks for grammars', () => {
  it('equal a brute-force check of every token, and repeated states come from the cache', () => {
    const texts = ['', '[', ']', '"', '"a', 'bc"', ',', '","', '\uFFFD', 'xyz', '"]', 'a'];
    const trie = new TokenTrie(texts);
    const format = compileFormat(gbnf(LIST))!;
    const constraint = startConstraint(trie, format, [0]);
    const prefix: string[] = [];
    for (const token of [1, 4, 7, 11, 5, 2]) {
      const words = constraint.mask();
      texts.forEach((t, id) => {
        const expected = id === 0 ? accepts(gbnf(LIST), prefix.join('')) : t.length > 0 && !t.includes('\uFFFD') && (() => {
          const { automaton, start } = format;
          let s: unknown = start;
          for (const c of prefix.join('') + t) s = s === undefined ? undefined : automaton.feed(s, c);
          return s !== undefined;
        })();
        expect((words[id >>> 5] & (1 << (id & 31))) !== 0, `${prefix.join('')} + ${JSON.stringify(t)}`).toBe(expected);
      });
      expect(words[token >>> 5] & (1 << (token & 31))).not.toBe(0);
      constraint.advance(token);
      prefix.push(texts[token]);
    }
    expect(prefix.join('')).toBe('["a","abc"]');
    expect(constraint.mask()[0] & 1).toBe(1); // complete: EOS allowed
    const fork = constraint.fork();
    expect(fork.mask()).toEqual(constraint.mask());
  });
});
