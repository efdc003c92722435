/**
 * Regular expressions for constrained decoding, parsed to Expr; the whole output must match (as if between ^ and $).
 * Supported (JavaScript syntax): literal characters, `.` (any character but a newline), classes [a-z] [^...] with
 * ranges and escapes, \d \D \w \W \s \S, the escapes \n \r \t \f \v \0 \xHH \uHHHH and escaped punctuation,
 * groups ( ) and (?: ), named groups (?<n> ), `|`, and the quantifiers * + ? {m} {m,} {m,n} (a lazy `?` after a
 * quantifier is accepted: it changes what matches first, not what matches). Refused with InvalidRequestError:
 * backreferences, lookaround, \b \B, ^ and $ anywhere but the ends, flags, characters outside the Basic
 * Multilingual Plane in classes.
 */
import type { Expr } from './grammar';
import { Scanner } from './scanner';

const MAX_CODE = 0xffff;
const DIGIT = [48, 57];
const WORD = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE = [9, 13, 32, 32, 160, 160, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];

/** The code units outside `ranges` (sorted, non-overlapping pairs). */
function complement(ranges: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] > next) out.push(next, ranges[i] - 1);
    next = ranges[i + 1] + 1;
  }
  if (next <= MAX_CODE) out.push(next, MAX_CODE);
  return out;
}

const chars = (ranges: number[], negated = false): Expr => ({ k: 'chars', ranges, negated });

export function parseRegex(source: string, field: string): Map<string, Expr> {
  // ^ at the start and an unescaped $ at the end only restate that the whole output matches
  const end = source.endsWith('$') && !source.endsWith('\\$') ? source.length - 1 : source.length;
  const s = new Scanner(source.slice(0, end), field);
  if (s.source.startsWith('^')) s.i = 1;
  const { fail } = s;
  source = s.source;
  /** after a backslash: a class's ranges (\d ...) or one code unit */
  const escape = (): number[] => {
    const c = source[s.i++];
    const classes: Record<string, number[]> = { d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) };
    if (c in classes) return classes[c];
    const controls: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    let code: number;
    if (c in controls) code = controls[c];
    else if (c === 'x') code = s.hex(2);
    else if (c === 'u') code = s.hex(4);
    else if (c !== undefined && /[\\^$.|?*+()[\]{}/-]/.test(c)) code = c.charCodeAt(0);
    else return fail(`unsupported escape \\${c ?? ''}`);
    return [code, code];
  };
  const unit = (): number[] => {
    if (source[s.i] === '\\') {
      s.i++;
      return escape();
    }
    const code = source.charCodeAt(s.i++);
    if (code >= 0xd800 && code <= 0xdfff) fail('characters outside the Basic Multilingual Plane are not supported in classes');
    return [code, code];
  };
  const charClass = (): Expr => {
    s.i++; // [
    const negated = source[s.i] === '^';
    if (negated) s.i++;
    const ranges: number[] = [];
    let first = true;
    while (source[s.i] !== ']' || first) {
      if (s.i >= source.length) fail('unterminated class');
      first = false;
      const lo = unit();
      if (source[s.i] === '-' && source[s.i + 1] !== ']' && lo.length === 2 && lo[0] === lo[1]) {
        s.i++;
        const hi = unit();
        if (hi.length !== 2 || hi[0] !== hi[1] || hi[0] < lo[0]) fail('bad class range');
        ranges.push(lo[0], hi[0]);
      } else ranges.push(...lo);
    }
    s.i++;
    return chars(ranges, negated);
  };
  const quantified = (e: Expr): Expr => {
    const c = source[s.i];
    let min: number, max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(s.i))) {
      s.i++;
      min = s.count();
      max = min;
      if (source[s.i] === ',') {
        s.i++;
        max = source[s.i] === '}' ? Infinity : s.count();
      }
      if (max < min) fail('{m,n} needs m <= n');
    } else return e;
    s.i++;
    if (source[s.i] === '?') s.i++; // lazy
    if (/^([*+?]|\{\d)/.test(source.slice(s.i))) fail('nothing to repeat');
    return { k: 'repeat', expr: e, min, max };
  };
  const alternatives = (): Expr => s.alternatives(sequence);
  const atom = (): Expr => {
    const c = source[s.i];
    if (c === '(') {
      s.i++;
      if (source.startsWith('?:', s.i)) s.i += 2;
      else if (/^\?<[A-Za-z_]\w*>/.test(source.slice(s.i))) s.i = source.indexOf('>', s.i) + 1;
      else if (source[s.i] === '?') fail('lookaround and inline flags are not supported');
      const e = alternatives();
      if (source[s.i] !== ')') fail("expected ')'");
      s.i++;
      return e;
    }
    if (c === '[') return charClass();
    if (c === '.') {
      s.i++;
      return chars([10, 10], true);
    }
    if (c === '\\') {
      if (/[1-9bBk]/.test(source[s.i + 1] ?? '')) fail(`\\${source[s.i + 1]} (backreferences and word boundaries) is not supported`);
      s.i++;
      return chars(escape());
    }
    if ('*+?'.includes(c) || (c === '{' && /^\{\d/.test(source.slice(s.i)))) fail('nothing to repeat');
    if (c === '^' || c === '$') fail('^ and $ are only accepted at the ends (the whole output always matches)');
    s.i++;
    return chars([c.charCodeAt(0), c.charCodeAt(0)]);
  };
  const sequence = (): Expr => {
    const items: Expr[] = [];
    while (s.i < source.length && source[s.i] !== '|' && source[s.i] !== ')') items.push(quantified(atom()));
    return { k: 'seq', items };
  };

  const root = alternatives();
  if (s.i < source.length) fail(`unexpected "${source[s.i]}"`);
  return new Map([['root', root]]);
}
