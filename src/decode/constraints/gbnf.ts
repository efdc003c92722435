/**
 * GBNF, the grammar format of llama.cpp (grammars/README.md there), parsed to Expr. Supported:
 *   rules `name ::= alternatives` (names of letters, digits, '-' and '_'; `root` is the start), `|`, grouping `( )`,
 *   string literals "..." and character classes [a-z0-9_] / [^"\\] with the escapes \n \r \t \\ \" \[ \] \- \xHH
 *   \uHHHH, `.` (any character), rule references, the repetitions `*` `+` `?` `{m}` `{m,}` `{m,n}`, and # comments.
 * Newlines are whitespace: a rule ends where the next `name ::=` begins. Not supported: llama.cpp's token
 * references (<[id]>, <name>) and characters outside the Basic Multilingual Plane in classes.
 */
import { literal, type Expr } from './grammar';
import { Scanner } from './scanner';

const NAME = /[A-Za-z0-9_-]/;

export function parseGbnf(source: string, field: string): Map<string, Expr> {
  const s = new Scanner(source, field);
  const { fail } = s;
  const space = () => {
    for (;;) {
      while (s.i < source.length && /\s/.test(source[s.i])) s.i++;
      if (source[s.i] !== '#') return;
      while (s.i < source.length && source[s.i] !== '\n') s.i++;
    }
  };
  const name = (): string => {
    const from = s.i;
    while (s.i < source.length && NAME.test(source[s.i])) s.i++;
    return from === s.i ? fail('expected a rule name') : source.slice(from, s.i);
  };
  const atDefinition = (): boolean => /^[A-Za-z0-9_-]+\s*::=/.test(source.slice(s.i, s.i + 200));
  const escaped = (): number => {
    const c = source[s.i++];
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', '[': '[', ']': ']', '-': '-', '/': '/' };
    if (c in simple) return simple[c].charCodeAt(0);
    if (c === 'x') return s.hex(2);
    if (c === 'u') return s.hex(4);
    return fail(`unknown escape \\${c ?? ''}`);
  };
  const charCode = (): number => {
    if (s.i >= source.length) fail('unterminated literal or class');
    if (source[s.i] === '\\') {
      s.i++;
      return escaped();
    }
    const code = source.charCodeAt(s.i++);
    if (code >= 0xd800 && code <= 0xdfff) fail('characters outside the Basic Multilingual Plane are not supported in classes');
    return code;
  };
  const charClass = (): Expr => {
    s.i++; // [
    const negated = source[s.i] === '^';
    if (negated) s.i++;
    const ranges: number[] = [];
    while (source[s.i] !== ']') {
      const lo = charCode();
      let hi = lo;
      if (source[s.i] === '-' && source[s.i + 1] !== ']') {
        s.i++;
        hi = charCode();
        if (hi < lo) fail('a class range runs backwards');
      }
      ranges.push(lo, hi);
    }
    s.i++;
    return { k: 'chars', ranges, negated };
  };
  const stringLiteral = (): Expr => {
    s.i++; // "
    let text = '';
    while (source[s.i] !== '"') {
      if (s.i >= source.length) fail('unterminated string');
      if (source[s.i] === '\\') {
        s.i++;
        text += String.fromCharCode(escaped());
      } else text += source[s.i++];
    }
    s.i++;
    return literal(text);
  };
  /** `{m}`, `{m,}` or `{m,n}` after the '{' */
  const bounds = (): [number, number] => {
    space();
    const min = s.count();
    space();
    let max = min;
    if (source[s.i] === ',') {
      s.i++;
      space();
      max = source[s.i] === '}' ? Infinity : s.count();
      space();
    }
    if (source[s.i] !== '}' || max < min) fail('expected {m}, {m,} or {m,n} with m <= n');
    return [min, max];
  };
  const postfix = (e: Expr): Expr => {
    for (;;) {
      const c = source[s.i++];
      if (c === '*') e = { k: 'repeat', expr: e, min: 0, max: Infinity };
      else if (c === '+') e = { k: 'repeat', expr: e, min: 1, max: Infinity };
      else if (c === '?') e = { k: 'repeat', expr: e, min: 0, max: 1 };
      else if (c === '{') {
        const [min, max] = bounds();
        s.i++;
        e = { k: 'repeat', expr: e, min, max };
      } else {
        s.i--;
        return e;
      }
    }
  };
  const sequence = (): Expr => {
    const items: Expr[] = [];
    for (;;) {
      space();
      const c = source[s.i];
      if (s.i >= source.length || c === '|' || c === ')' || atDefinition()) return { k: 'seq', items };
      let e: Expr;
      if (c === '"') e = stringLiteral();
      else if (c === '[') e = charClass();
      else if (c === '.') {
        s.i++;
        e = { k: 'chars', ranges: [], negated: true };
      } else if (c === '(') {
        s.i++;
        e = alternatives();
        space();
        if (source[s.i] !== ')') fail("expected ')'");
        s.i++;
      } else if (NAME.test(c)) e = { k: 'ref', name: name() };
      else return fail(`unexpected "${c}"`);
      items.push(postfix(e));
    }
  };

  const alternatives = (): Expr => s.alternatives(sequence);

  const defs = new Map<string, Expr>();
  space();
  while (s.i < source.length) {
    const rule = name();
    space();
    if (source.slice(s.i, s.i + 3) !== '::=') fail(`expected '::=' after "${rule}"`);
    s.i += 3;
    if (defs.has(rule)) fail(`rule "${rule}" is defined twice`);
    defs.set(rule, alternatives());
    space();
    if (s.i < source.length && !atDefinition()) fail(`unexpected "${source[s.i]}"`);
  }
  return defs;
}
