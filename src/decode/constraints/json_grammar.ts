/**
 * Compact JSON as a pushdown automaton over characters, for constrained decoding. A state is an immutable stack
 * of frames (shared tails), so exploring a token trie branches it for free: feed(stack, c) returns the stack
 * after one more character, or undefined when no output with this prefix can satisfy the schema.
 * No whitespace is allowed outside strings: a constrained model writes `{"a":1}`, never `{ "a": 1 }`.
 */

import type { CharAutomaton } from './automaton';

/** What a value may be (compiled from a JSON Schema by json_schema.ts). */
export type JsonNode =
  | { kind: 'any'; depth: number }
  | { kind: 'freeObject'; depth: number }
  | { kind: 'object'; props: { literal: string; node: JsonNode; required: boolean }[] }
  | { kind: 'array'; items: JsonNode; min: number; max: number }
  | { kind: 'string'; min: number; max: number }
  | { kind: 'number'; integer: boolean }
  | { kind: 'literal'; texts: string[] }
  | { kind: 'union'; options: JsonNode[] };

/** Bounds that keep every output finite where a schema sets none (documented on ResponseFormat). */
export const JSON_LIMITS = { stringChars: 64, arrayItems: 16, objectKeys: 16, depth: 4, intDigits: 15, fracDigits: 15, expDigits: 3 };

type Frame =
  | { k: 'doc'; node: JsonNode; done: boolean }
  | { k: 'str'; min: number; max: number; phase: number; len: number }
  | { k: 'num'; integer: boolean; phase: number; digits: number }
  | { k: 'lit'; texts: string[]; pos: number }
  | { k: 'obj'; props: Extract<JsonNode, { kind: 'object' }>['props']; phase: number; next: number; cands: number[]; pos: number }
  | { k: 'arr'; node: Extract<JsonNode, { kind: 'array' }>; phase: number; count: number }
  | { k: 'any'; depth: number }
  | { k: 'fobj'; depth: number; phase: number; count: number }
  | { k: 'union'; alts: Stack[] };

export type Stack = { frame: Frame; up: Stack } | null;

/** replace: the frame's next state (absent: it is complete and pops); push: a new frame on top; consumed: c was used. */
type Step = { replace?: Frame; push?: Frame; consumed: boolean } | undefined;

const POP: Step = { consumed: true };
const PASS: Step = { consumed: false };
const isDigit = (c: string) => c >= '0' && c <= '9';

export function startFrame(node: JsonNode): Frame {
  switch (node.kind) {
    case 'any': return { k: 'any', depth: node.depth };
    case 'freeObject': return { k: 'fobj', depth: node.depth, phase: 0, count: 0 };
    case 'object': return { k: 'obj', props: node.props, phase: 0, next: 0, cands: [], pos: 0 };
    case 'array': return { k: 'arr', node, phase: 0, count: 0 };
    case 'string': return { k: 'str', min: node.min, max: node.max, phase: 0, len: 0 };
    case 'number': return { k: 'num', integer: node.integer, phase: 0, digits: 0 };
    case 'literal': return { k: 'lit', texts: node.texts, pos: 0 };
    case 'union': return { k: 'union', alts: node.options.map((o) => ({ frame: startFrame(o), up: null })) };
  }
}

/** The automaton's start: one JSON document of `node`. */
export function documentStack(node: JsonNode): Stack {
  return { frame: { k: 'doc', node, done: false }, up: null };
}

/** The stack after character c, or undefined if c cannot come next (the document frame never pops). */
export function feed(stack: Stack, c: string): Stack | undefined {
  const r = advance(stack, c);
  return r?.consumed ? r.stack : undefined;
}

/**
 * Offers c to the top frame, then to the frames below while frames complete without using it. Stops when c is
 * used, or when every frame has popped (stack null; consumed says whether the last one used c).
 */
function advance(stack: Stack, c: string): { stack: Stack; consumed: boolean } | undefined {
  let s = stack;
  while (s) {
    const r = step(s.frame, c);
    if (!r) return undefined;
    let next: Stack = r.replace ? { frame: r.replace, up: s.up } : s.up;
    if (r.push) next = { frame: r.push, up: next };
    if (r.consumed || !next) return { stack: next, consumed: r.consumed };
    s = next;
  }
  return undefined;
}

/** True when the text so far is a complete value: every open frame may end here. */
export function accepting(stack: Stack): boolean {
  for (let s = stack; s; s = s.up) if (!canEnd(s.frame)) return false;
  return true;
}

/**
 * Inside a string's body: how many more characters it may take. Any text without '"', '\\' and control
 * characters that fits is then accepted whatever lies below on the stack (token_trie.ts's fast path).
 */
export function stringRoom(stack: Stack): number | undefined {
  const f = stack?.frame;
  return f?.k === 'str' && f.phase === 1 ? f.max - f.len : undefined;
}

/** True when the text can only be the body of a string: no quote, no backslash, no control character. */
export function isPlainStringText(text: string): boolean {
  return !/["\\\u0000-\u001f]/.test(text);
}

/** True when nothing but the end may follow (a complete document). */
export function complete(stack: Stack): boolean {
  return stack?.frame.k === 'doc' && stack.frame.done;
}

function canEnd(f: Frame): boolean {
  switch (f.k) {
    case 'doc': return f.done;
    case 'num': return f.phase === 2 || f.phase === 3 || f.phase === 5 || f.phase === 8;
    case 'lit': return f.texts.some((t) => t.length === f.pos);
    case 'union': return f.alts.some(accepting);
    default: return false;
  }
}

function step(f: Frame, c: string): Step {
  switch (f.k) {
    case 'doc': return f.done ? undefined : { replace: { ...f, done: true }, push: startFrame(f.node), consumed: false };
    case 'str': return stringStep(f, c);
    case 'num': return numberStep(f, c);
    case 'lit': return literalStep(f, c);
    case 'obj': return objectStep(f, c);
    case 'arr': return arrayStep(f, c);
    case 'any': return anyStep(f, c);
    case 'fobj': return freeObjectStep(f, c);
    case 'union': return unionStep(f, c);
  }
}

// phases: 0 before the opening quote, 1 in the body, 2 after a backslash, 3-6 the hex digits of \uXXXX
function stringStep(f: Extract<Frame, { k: 'str' }>, c: string): Step {
  if (f.phase === 0) return c === '"' ? { replace: { ...f, phase: 1 }, consumed: true } : undefined;
  if (f.phase === 1) {
    if (c === '"') return f.len >= f.min ? POP : undefined;
    if (f.len >= f.max || c < ' ') return undefined;
    return { replace: { ...f, phase: c === '\\' ? 2 : 1, len: f.len + 1 }, consumed: true };
  }
  if (f.phase === 2) {
    if (c === 'u') return { replace: { ...f, phase: 3 }, consumed: true };
    return '"\\/bfnrt'.includes(c) ? { replace: { ...f, phase: 1 }, consumed: true } : undefined;
  }
  return /[0-9a-fA-F]/.test(c) ? { replace: { ...f, phase: f.phase === 6 ? 1 : f.phase + 1 }, consumed: true } : undefined;
}

// phases: 0 start, 1 after '-', 2 integer digits, 3 a leading 0, 4 after '.', 5 fraction digits, 6 after 'e', 7 after the exponent's sign, 8 exponent digits
function numberStep(f: Extract<Frame, { k: 'num' }>, c: string): Step {
  const to = (phase: number, digits = 0): Step => ({ replace: { ...f, phase, digits }, consumed: true });
  const fraction = !f.integer;
  switch (f.phase) {
    case 0: return c === '-' ? to(1) : c === '0' ? to(3) : isDigit(c) ? to(2, 1) : undefined;
    case 1: return c === '0' ? to(3) : isDigit(c) ? to(2, 1) : undefined;
    case 2:
    case 3:
      if (f.phase === 2 && isDigit(c)) return f.digits < JSON_LIMITS.intDigits ? to(2, f.digits + 1) : undefined;
      if (fraction && c === '.') return to(4);
      if (fraction && (c === 'e' || c === 'E')) return to(6);
      return PASS;
    case 4: return isDigit(c) ? to(5, 1) : undefined;
    case 5:
      if (isDigit(c)) return f.digits < JSON_LIMITS.fracDigits ? to(5, f.digits + 1) : undefined;
      return c === 'e' || c === 'E' ? to(6) : PASS;
    case 6: return c === '+' || c === '-' ? to(7) : isDigit(c) ? to(8, 1) : undefined;
    case 7: return isDigit(c) ? to(8, 1) : undefined;
    default:
      if (isDigit(c)) return f.digits < JSON_LIMITS.expDigits ? to(8, f.digits + 1) : undefined;
      return PASS;
  }
}

function literalStep(f: Extract<Frame, { k: 'lit' }>, c: string): Step {
  const texts = f.texts.filter((t) => t[f.pos] === c);
  if (texts.length === 0) return f.texts.some((t) => t.length === f.pos) ? PASS : undefined;
  return texts.every((t) => t.length === f.pos + 1) ? POP : { replace: { k: 'lit', texts, pos: f.pos + 1 }, consumed: true };
}

/** The properties that may come next: in declared order, optional ones skippable, up to the next required one. */
function candidates(props: Extract<Frame, { k: 'obj' }>['props'], from: number): number[] {
  const out: number[] = [];
  for (let i = from; i < props.length; i++) {
    out.push(i);
    if (props[i].required) break;
  }
  return out;
}

const requiredLeft = (f: Extract<Frame, { k: 'obj' }>) => f.props.slice(f.next).some((p) => p.required);

// phases: 0 before '{', 1 after '{', 2 in a key, 3 before ':', 4 after a value, 5 after ','
function objectStep(f: Extract<Frame, { k: 'obj' }>, c: string): Step {
  switch (f.phase) {
    case 0: return c === '{' ? { replace: { ...f, phase: 1 }, consumed: true } : undefined;
    case 1:
    case 5:
      if (c === '}' && f.phase === 1 && !requiredLeft(f)) return POP;
      if (c !== '"' || f.next >= f.props.length) return undefined;
      return { replace: { ...f, phase: 2, cands: candidates(f.props, f.next), pos: 1 }, consumed: true };
    case 2: {
      const cands = f.cands.filter((i) => f.props[i].literal[f.pos] === c);
      if (cands.length === 0) return undefined;
      const whole = cands.find((i) => f.props[i].literal.length === f.pos + 1);
      if (whole !== undefined) return { replace: { ...f, phase: 3, next: whole + 1, cands: [whole], pos: 0 }, consumed: true };
      return { replace: { ...f, cands, pos: f.pos + 1 }, consumed: true };
    }
    case 3: return c === ':' ? { replace: { ...f, phase: 4 }, push: startFrame(f.props[f.cands[0]].node), consumed: true } : undefined;
    default:
      if (c === ',' && f.next < f.props.length) return { replace: { ...f, phase: 5 }, consumed: true };
      return c === '}' && !requiredLeft(f) ? POP : undefined;
  }
}

// phases: 0 before '[', 1 after '[', 2 after an item, 3 after ','
function arrayStep(f: Extract<Frame, { k: 'arr' }>, c: string): Step {
  const { min, max, items } = f.node;
  switch (f.phase) {
    case 0: return c === '[' ? { replace: { ...f, phase: 1 }, consumed: true } : undefined;
    case 1:
      if (c === ']') return min === 0 ? POP : undefined;
      return max > 0 ? { replace: { ...f, phase: 2, count: 1 }, push: startFrame(items), consumed: false } : undefined;
    case 2:
      if (c === ',' && f.count < max) return { replace: { ...f, phase: 3 }, consumed: true };
      return c === ']' && f.count >= min ? POP : undefined;
    default: return { replace: { ...f, phase: 2, count: f.count + 1 }, push: startFrame(items), consumed: false };
  }
}

const FREE_STRING: JsonNode = { kind: 'string', min: 0, max: JSON_LIMITS.stringChars };

/** Any JSON value (json_object mode); below the depth limit only scalars. The first character decides its kind. */
function anyStep(f: Extract<Frame, { k: 'any' }>, c: string): Step {
  const nested = f.depth < JSON_LIMITS.depth;
  let frame: Frame | undefined;
  if (c === '{' && nested) frame = startFrame({ kind: 'freeObject', depth: f.depth });
  else if (c === '[' && nested) frame = startFrame({ kind: 'array', items: { kind: 'any', depth: f.depth + 1 }, min: 0, max: JSON_LIMITS.arrayItems });
  else if (c === '"') frame = startFrame(FREE_STRING);
  else if (c === '-' || isDigit(c)) frame = startFrame({ kind: 'number', integer: false });
  else if (c === 't' || c === 'f' || c === 'n') frame = startFrame({ kind: 'literal', texts: ['true', 'false', 'null'] });
  return frame ? { replace: frame, consumed: false } : undefined;
}

// an object with any keys: phases 0 before '{', 1 after '{', 2 before ':', 3 after a value, 4 after ','
function freeObjectStep(f: Extract<Frame, { k: 'fobj' }>, c: string): Step {
  switch (f.phase) {
    case 0: return c === '{' ? { replace: { ...f, phase: 1 }, consumed: true } : undefined;
    case 1:
    case 4:
      if (c === '}' && f.phase === 1) return POP;
      return c === '"' ? { replace: { ...f, phase: 2 }, push: startFrame(FREE_STRING), consumed: false } : undefined;
    case 2: return c === ':' ? { replace: { ...f, phase: 3, count: f.count + 1 }, push: { k: 'any', depth: f.depth + 1 }, consumed: true } : undefined;
    default:
      if (c === ',' && f.count < JSON_LIMITS.objectKeys) return { replace: { ...f, phase: 4 }, consumed: true };
      return c === '}' ? POP : undefined;
  }
}

/** anyOf: every alternative runs on its own stack; the first character none of them takes rejects. */
function unionStep(f: Extract<Frame, { k: 'union' }>, c: string): Step {
  const alive: Stack[] = [];
  let done = false;
  let passed = false;
  for (const alt of f.alts) {
    const r = advance(alt, c);
    if (r?.stack) alive.push(r.stack);
    else if (r?.consumed) done = true;
    else if (r) passed = true;
  }
  if (alive.length > 0) return { replace: { k: 'union', alts: alive }, consumed: true };
  return done ? POP : passed ? PASS : undefined;
}

/** The JSON automaton for token_trie.ts and constrained decoding. */
export const JSON_AUTOMATON: CharAutomaton<Stack> = { feed, accepting, plainRoom: stringRoom };
