/**
 * Context-free grammars for constrained decoding (GBNF and regex both parse to Expr), recognised over UTF-16 code
 * units the way llama.cpp's grammar sampler does: a state is a set of stacks of grammar positions, each stack's top
 * a character class (or the stack empty: the sentence is complete). Repetitions become right-recursive helper rules,
 * and a rule reference in tail position replaces its frame, so `x*` never deepens a stack.
 */
import { InvalidRequestError } from '../../contract/errors';
import type { CharAutomaton } from './automaton';

/** Parsed grammar: `ranges` are inclusive code-unit pairs [lo0, hi0, lo1, hi1, ...]. */
export type Expr =
  | { k: 'chars'; ranges: number[]; negated: boolean }
  | { k: 'seq'; items: Expr[] }
  | { k: 'alt'; options: Expr[] }
  | { k: 'ref'; name: string }
  | { k: 'repeat'; expr: Expr; min: number; max: number };

/** Limits that keep a compiled grammar and its states small (named in errors). */
export const GRAMMAR_LIMITS = { repeat: 1000, positions: 100_000, stacks: 4096, depth: 256 };

type Chars = Extract<Expr, { k: 'chars' }>;
/** One stack of grammar positions (ids into Compiled.elements); null is the empty stack. */
type Stack = { pos: number; up: Stack } | null;
/** A recogniser state: its distinct stacks and a key that names it. */
export interface GrammarState { stacks: Stack[]; key: string }

export const literal = (text: string): Expr => ({ k: 'seq', items: Array.from(text, (c) => ({ k: 'chars', ranges: [c.charCodeAt(0), c.charCodeAt(0)], negated: false })) });

/**
 * A grammar compiled for recognition. Positions are numbered so that position + 1 is the next one in the same
 * alternative; elements[pos] is a character class, a rule number, or END (the alternative is complete).
 */
class Compiled implements CharAutomaton<GrammarState> {
  /** per position: Chars, a rule index, or END */
  readonly elements: (Chars | number | typeof END)[] = [];
  /** per rule: the position of each alternative's first element */
  readonly rules: number[][] = [];
  readonly start: GrammarState;
  /** feed's answers by (state key, character): a trie walk reaches the same states along many branches (null: rejected) */
  private readonly fed = new Map<string, GrammarState | null>();
  /** per rule, its alternatives' elements while compiling */
  private readonly pendingAlts = new Map<number, (Chars | number)[][]>();

  constructor(private readonly field: string, defs: Map<string, Expr>, root: string) {
    const index = new Map<string, number>();
    const pending: [number, Expr][] = [];
    const ruleOf = (e: Expr): number => {
      const known = e.k === 'ref' ? index.get(e.name) : undefined;
      if (known !== undefined) return known;
      if (e.k === 'ref' && !defs.has(e.name)) this.refuse(`rule "${e.name}" is used but not defined`);
      this.rules.push([]);
      const rule = this.rules.length - 1;
      if (e.k === 'ref') index.set(e.name, rule);
      pending.push([rule, e.k === 'ref' ? defs.get(e.name)! : e]);
      return rule;
    };
    // an element: a class stays inline, anything else becomes (or names) a rule
    const element = (e: Expr): Chars | number => (e.k === 'chars' ? e : ruleOf(e));
    const sequence = (e: Expr): (Chars | number)[] => (e.k === 'seq' ? e.items.flatMap(sequence) : e.k === 'repeat' ? repeated(e) : [element(e)]);
    const repeated = (e: Extract<Expr, { k: 'repeat' }>): (Chars | number)[] => {
      if (e.min > GRAMMAR_LIMITS.repeat || (e.max !== Infinity && e.max > GRAMMAR_LIMITS.repeat)) this.refuse(`repetition counts above ${GRAMMAR_LIMITS.repeat} are not supported`);
      const one = element(e.expr);
      const out: (Chars | number)[] = Array.from({ length: e.min }, () => one);
      if (e.max === Infinity) {
        const star = ruleOf({ k: 'alt', options: [] }); // star ::= one star | ε
        this.pendingAlts.set(star, [[one, star], []]);
        return [...out, star];
      }
      let tail: number | undefined; // opt_j ::= one opt_{j+1} | ε, built from the innermost
      for (let j = e.min; j < e.max; j++) {
        const opt = ruleOf({ k: 'alt', options: [] });
        this.pendingAlts.set(opt, [tail === undefined ? [one] : [one, tail], []]);
        tail = opt;
      }
      return tail === undefined ? out : [...out, tail];
    };
    if (!defs.has(root)) this.refuse(`has no "${root}" rule`);
    const rootRule = ruleOf({ k: 'ref', name: root });
    while (pending.length > 0) {
      const [rule, e] = pending.pop()!;
      if (this.pendingAlts.has(rule)) continue;
      this.pendingAlts.set(rule, (e.k === 'alt' ? e.options : [e]).map(sequence));
    }
    for (let r = 0; r < this.rules.length; r++) {
      for (const alt of this.pendingAlts.get(r)!) {
        this.rules[r].push(this.elements.length);
        this.elements.push(...alt, END);
      }
      if (this.elements.length > GRAMMAR_LIMITS.positions) this.refuse(`compiles to more than ${GRAMMAR_LIMITS.positions} positions`);
    }
    this.start = this.state(this.expand(this.rules[rootRule].map((pos) => ({ pos, up: null }))));
  }

  feed(state: GrammarState, c: string): GrammarState | undefined {
    const memoKey = `${state.key}\u0001${c}`;
    const known = this.fed.get(memoKey);
    if (known !== undefined) return known ?? undefined;
    const code = c.charCodeAt(0);
    const moved: Stack[] = [];
    for (const s of state.stacks) if (s && matches(this.elements[s.pos] as Chars, code)) moved.push({ pos: s.pos + 1, up: s.up });
    const next = moved.length === 0 ? undefined : this.state(this.expand(moved));
    if (this.fed.size >= FEED_MEMO_MAX) this.fed.clear();
    this.fed.set(memoKey, next ?? null);
    return next;
  }

  accepting(state: GrammarState): boolean {
    return state.stacks.includes(null);
  }

  key(state: GrammarState): string {
    return state.key;
  }

  /** Every stack reachable from `stacks` without consuming a character, with a class (or nothing) on top. */
  private expand(stacks: Stack[]): Map<string, Stack> {
    const out = new Map<string, Stack>();
    const seen = new Set<string>(); // a stack met again (a repetition of something empty) adds nothing
    const visit = (s: Stack, depth: number): void => {
      if (depth > GRAMMAR_LIMITS.depth) this.refuse(`nests deeper than ${GRAMMAR_LIMITS.depth} rules without consuming a character (left recursion?)`);
      if (s === null) {
        out.set('', null);
        return;
      }
      const el = this.elements[s.pos];
      if (el === END) return visit(s.up, depth + 1);
      const key = stackKey(s);
      if (typeof el !== 'number') {
        out.set(key, s);
        if (out.size > GRAMMAR_LIMITS.stacks) this.refuse(`is too ambiguous: more than ${GRAMMAR_LIMITS.stacks} parses at once`);
        return;
      }
      if (seen.has(key)) return;
      seen.add(key);
      const next = this.elements[s.pos + 1] === END ? s.up : { pos: s.pos + 1, up: s.up }; // tail position: no frame kept
      for (const pos of this.rules[el]) visit({ pos, up: next }, depth + 1);
    };
    for (const s of stacks) visit(s, 0);
    return out;
  }

  private state(stacks: Map<string, Stack>): GrammarState {
    return { stacks: [...stacks.values()], key: [...stacks.keys()].sort().join('|') };
  }

  private refuse(message: string): never {
    throw new InvalidRequestError(`${this.field}: ${message}`, { field: this.field });
  }
}

const END = -1;
/** Most remembered feed answers per grammar (then the memo starts over). */
const FEED_MEMO_MAX = 200_000;

function stackKey(s: Stack): string {
  let key = '';
  for (let t = s; t; t = t.up) key += `${t.pos},`;
  return key;
}

function matches(c: Chars, code: number): boolean {
  let inside = false;
  for (let i = 0; i < c.ranges.length && !inside; i += 2) inside = code >= c.ranges[i] && code <= c.ranges[i + 1];
  return inside !== c.negated;
}

/** The automaton of rules `defs` from `root`; `field` names the request field in errors. */
export function compileGrammar(field: string, defs: Map<string, Expr>, root: string): CharAutomaton<GrammarState> & { start: GrammarState } {
  return new Compiled(field, defs, root);
}
