/**
 * GBNF, the grammar format of llama.cpp (grammars/README.md there), parsed to Expr. Supported:
 *   rules `name ::= alternatives` (names of letters, digits, '-' and '_'; `root` is the start), `|`, grouping `( )`,
 *   string literals "..." and character classes [a-z0-9_] / [^"\\] with the escapes \n \r \t \\ \" \[ \] \- \xHH
 *   \uHHHH, `.` (any character), rule references, the repetitions `*` `+` `?` `{m}` `{m,}` `{m,n}`, and # comments.
 * Newlines are whitespace: a rule ends where the next `name ::=` begins. Not supported: llama.cpp's token
 * references (<[id]>, <name>) and characters outside the Basic Multilingual Plane in classes.
 */
import { InvalidRequestError } from '../../contract/errors';
import { GRAMMAR_LIMITS, literal, type Expr } from './grammar';

const NAME = /[A-Za-z0-9_-]/;

export function parseGbnf(source: string, field: string): Map<string, Expr> {
  let i = 0;
  const fail = (message: string): never => {
    throw new InvalidRequestError(`${field}: ${message} at offset ${i}`, { field, offset: i });
  };
  const space = () => {
    for (;;) {
      while (i < source.length && /\s/.test(source[i])) i++;
      if (source[i] !== '#') return;
      while (i < source.length && source[i] !== '\n') i++;
    }
  };
  const name = (): string => {
    const from = i;
    while (i < source.length && NAME.test(source[i])) i++;
    return from === i ? fail('expected a rule name') : source.slice(from, i);
  };
  const atDefinition = (): boolean => /^[A-Za-z0-9_-]+\s*::=/.test(source.slice(i, i + 200));
  const escaped = (): number => {
    const c = source[i++];
    const hex = (n: number) => {
      const digits = source.slice(i, i + n);
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== n) fail(`expected ${n} hexadecimal digits`);
      i += n;
      return parseInt(digits, 16);
    };
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', '[': '[', ']': ']', '-': '-', '/': '/' };
    if (c in simple) return simple[c].charCodeAt(0);
    if (c === 'x') return hex(2);
    if (c === 'u') return hex(4);
    return fail(`unknown escape \\${c ?? ''}`);
  };
  const charCode = (): number => {
    if (i >= source.length) fail('unterminated literal or class');
    if (source[i] === '\\') {
      i++;
      return escaped();
    }
    const code = source.charCodeAt(i++);
    if (code >= 0xd800 && code <= 0xdfff) fail('characters outside the Basic Multilingual Plane are not supported in classes');
    return code;
  };
  const charClass = (): Expr => {
    i++; // [
    const negated = source[i] === '^';
    if (negated) i++;
    const ranges: number[] = [];
    while (source[i] !== ']') {
      const lo = charCode();
      let hi = lo;
      if (source[i] === '-' && source[i + 1] !== ']') {
        i++;
        hi = charCode();
        if (hi < lo) fail('a class range runs backwards');
      }
      ranges.push(lo, hi);
    }
    i++;
    return { k: 'chars', ranges, negated };
  };
  const stringLiteral = (): Expr => {
    i++; // "
    let text = '';
    while (source[i] !== '"') {
      if (i >= source.length) fail('unterminated string');
      if (source[i] === '\\') {
        i++;
        text += String.fromCharCode(escaped());
      } else text += source[i++];
    }
    i++;
    return literal(text);
  };
  const count = (): number => {
    const from = i;
    while (/[0-9]/.test(source[i] ?? '')) i++;
    const n = Number(source.slice(from, i));
    if (from === i || n > GRAMMAR_LIMITS.repeat) fail(`expected a repetition count up to ${GRAMMAR_LIMITS.repeat}`);
    return n;
  };
  /** `{m}`, `{m,}` or `{m,n}` after the '{' */
  const bounds = (): [number, number] => {
    space();
    const min = count();
    space();
    let max = min;
    if (source[i] === ',') {
      i++;
      space();
      max = source[i] === '}' ? Infinity : count();
      space();
    }
    if (source[i] !== '}' || max < min) fail('expected {m}, {m,} or {m,n} with m <= n');
    return [min, max];
  };
  const postfix = (e: Expr): Expr => {
    for (;;) {
      const c = source[i++];
      if (c === '*') e = { k: 'repeat', expr: e, min: 0, max: Infinity };
      else if (c === '+') e = { k: 'repeat', expr: e, min: 1, max: Infinity };
      else if (c === '?') e = { k: 'repeat', expr: e, min: 0, max: 1 };
      else if (c === '{') {
        const [min, max] = bounds();
        i++;
        e = { k: 'repeat', expr: e, min, max };
      } else {
        i--;
        return e;
      }
    }
  };
  const sequence = (): Expr => {
    const items: Expr[] = [];
    for (;;) {
      space();
      const c = source[i];
      if (i >= source.length || c === '|' || c === ')' || atDefinition()) return { k: 'seq', items };
      let e: Expr;
      if (c === '"') e = stringLiteral();
      else if (c === '[') e = charClass();
      else if (c === '.') {
        i++;
        e = { k: 'chars', ranges: [], negated: true };
      } else if (c === '(') {
        i++;
        e = alternatives();
        space();
        if (source[i] !== ')') fail("expected ')'");
        i++;
      } else if (NAME.test(c)) e = { k: 'ref', name: name() };
      else return fail(`unexpected "${c}"`);
      items.push(postfix(e));
    }
  };
  const alternatives = (): Expr => {
    const options = [sequence()];
    while (source[i] === '|') {
      i++;
      options.push(sequence());
    }
    return options.length === 1 ? options[0] : { k: 'alt', options };
  };

  const defs = new Map<string, Expr>();
  space();
  while (i < source.length) {
    const rule = name();
    space();
    if (source.slice(i, i + 3) !== '::=') fail(`expected '::=' after "${rule}"`);
    i += 3;
    if (defs.has(rule)) fail(`rule "${rule}" is defined twice`);
    defs.set(rule, alternatives());
    space();
    if (i < source.length && !atDefinition()) fail(`unexpected "${source[i]}"`);
  }
  return defs;
}
