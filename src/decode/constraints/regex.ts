/**
 * Regular expressions for constrained decoding, parsed to Expr; the whole output must match (as if between ^ and $).
 * Supported (JavaScript syntax): literal characters, `.` (any character but a newline), classes [a-z] [^...] with
 * ranges and escapes, \d \D \w \W \s \S, the escapes \n \r \t \f \v \0 \xHH \uHHHH and escaped punctuation,
 * groups ( ) and (?: ), named groups (?<n> ), `|`, and the quantifiers * + ? {m} {m,} {m,n} (a lazy `?` after a
 * quantifier is accepted: it changes what matches first, not what matches). Refused with InvalidRequestError:
 * backreferences, lookaround, \b \B, ^ and $ anywhere but the ends, flags, characters outside the Basic
 * Multilingual Plane in classes.
 */
import { InvalidRequestError } from '../../contract/errors';
import { GRAMMAR_LIMITS, type Expr } from './grammar';

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
  let i = 0;
  const fail = (message: string): never => {
    throw new InvalidRequestError(`${field}: ${message} at offset ${i}`, { field, offset: i });
  };
  const hex = (n: number): number => {
    const digits = source.slice(i, i + n);
    if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) fail(`expected ${n} hexadecimal digits`);
    i += n;
    return parseInt(digits, 16);
  };
  /** after a backslash: a class's ranges (\d ...) or one code unit */
  const escape = (): number[] => {
    const c = source[i++];
    const classes: Record<string, number[]> = { d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) };
    if (c in classes) return classes[c];
    const controls: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    let code: number;
    if (c in controls) code = controls[c];
    else if (c === 'x') code = hex(2);
    else if (c === 'u') code = hex(4);
    else if (c !== undefined && /[\\^$.|?*+()[\]{}/-]/.test(c)) code = c.charCodeAt(0);
    else return fail(`unsupported escape \\${c ?? ''}`);
    return [code, code];
  };
  const unit = (): number[] => {
    if (source[i] === '\\') {
      i++;
      return escape();
    }
    const code = source.charCodeAt(i++);
    if (code >= 0xd800 && code <= 0xdfff) fail('characters outside the Basic Multilingual Plane are not supported in classes');
    return [code, code];
  };
  const charClass = (): Expr => {
    i++; // [
    const negated = source[i] === '^';
    if (negated) i++;
    const ranges: number[] = [];
    let first = true;
    while (source[i] !== ']' || first) {
      if (i >= source.length) fail('unterminated class');
      first = false;
      const lo = unit();
      if (source[i] === '-' && source[i + 1] !== ']' && lo.length === 2 && lo[0] === lo[1]) {
        i++;
        const hi = unit();
        if (hi.length !== 2 || hi[0] !== hi[1] || hi[0] < lo[0]) fail('bad class range');
        ranges.push(lo[0], hi[0]);
      } else ranges.push(...lo);
    }
    i++;
    return chars(ranges, negated);
  };
  const count = (): number => {
    const from = i;
    while (/[0-9]/.test(source[i] ?? '')) i++;
    const n = Number(source.slice(from, i));
    if (from === i || n > GRAMMAR_LIMITS.repeat) fail(`expected a repetition count up to ${GRAMMAR_LIMITS.repeat}`);
    return n;
  };
  const quantified = (e: Expr): Expr => {
    const c = source[i];
    let min: number, max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i))) {
      i++;
      min = count();
      max = min;
      if (source[i] === ',') {
        i++;
        max = source[i] === '}' ? Infinity : count();
      }
      if (max < min) fail('{m,n} needs m <= n');
    } else return e;
    i++;
    if (source[i] === '?') i++; // lazy
    if (/^([*+?]|\{\d)/.test(source.slice(i))) fail('nothing to repeat');
    return { k: 'repeat', expr: e, min, max };
  };
  const atom = (): Expr => {
    const c = source[i];
    if (c === '(') {
      i++;
      if (source.startsWith('?:', i)) i += 2;
      else if (/^\?<[A-Za-z_]\w*>/.test(source.slice(i))) i = source.indexOf('>', i) + 1;
      else if (source[i] === '?') fail('lookaround and inline flags are not supported');
      const e = alternatives();
      if (source[i] !== ')') fail("expected ')'");
      i++;
      return e;
    }
    if (c === '[') return charClass();
    if (c === '.') {
      i++;
      return chars([10, 10], true);
    }
    if (c === '\\') {
      if (/[1-9bBk]/.test(source[i + 1] ?? '')) fail(`\\${source[i + 1]} (backreferences and word boundaries) is not supported`);
      i++;
      return chars(escape());
    }
    if ('*+?'.includes(c) || (c === '{' && /^\{\d/.test(source.slice(i)))) fail('nothing to repeat');
    if (c === '^' || c === '$') fail('^ and $ are only accepted at the ends (the whole output always matches)');
    i++;
    return chars([c.charCodeAt(0), c.charCodeAt(0)]);
  };
  const sequence = (): Expr => {
    const items: Expr[] = [];
    while (i < source.length && source[i] !== '|' && source[i] !== ')') items.push(quantified(atom()));
    return { k: 'seq', items };
  };
  const alternatives = (): Expr => {
    const options = [sequence()];
    while (source[i] === '|') {
      i++;
      options.push(sequence());
    }
    return options.length === 1 ? options[0] : { k: 'alt', options };
  };

  // ^ at the start and an unescaped $ at the end only restate that the whole output matches
  const end = source.endsWith('$') && !source.endsWith('\\$') ? source.length - 1 : source.length;
  source = source.slice(0, end);
  if (source.startsWith('^')) i = 1;
  const root = alternatives();
  if (i < source.length) fail(`unexpected "${source[i]}"`);
  return new Map([['root', root]]);
}
