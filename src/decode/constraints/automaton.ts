/** What constrained decoding needs of a language: a character automaton with immutable states, and the per-request constraint over it. */
import { InferError } from '../../contract/errors';
import type { TokenConstraint } from '../strategy';
import type { TokenTrie } from './token_trie';

/** A recogniser over UTF-16 code units. States are immutable: exploring a token trie branches them for free. */
export interface CharAutomaton<S> {
  /** the state after one more character, or undefined when no accepted text has this prefix */
  feed(state: S, c: string): S | undefined;
  /** true when the text so far is a complete sentence (EOS may follow) */
  accepting(state: S): boolean;
  /** inside a JSON string body: any token of plain string text up to this many characters is accepted (token_trie.ts's fast path) */
  plainRoom?(state: S): number | undefined;
  /** a key equal for equal states: masks are then cached by it */
  key?(state: S): string;
}

/** Masks cached per state key, per compiled language (a grammar's loop revisits the same states). */
const MASK_CACHE_MAX = 256;

/** CPU cost of the masks of one request, shared by its forks (drafts). */
export interface MaskStats {
  ms: number;
  count: number;
}

/**
 * One request's constraint: the automaton's state after the tokens so far. EOS is allowed once the state accepts.
 * fork() gives an independent copy at the same position (a draft's own state); forks share the stats and the cache.
 */
export class AutomatonConstraint<S> implements TokenConstraint {
  constructor(
    private readonly trie: TokenTrie,
    private readonly automaton: CharAutomaton<S>,
    private state: S,
    private readonly eosIds: readonly number[],
    readonly stats: MaskStats = { ms: 0, count: 0 },
    private readonly cache: Map<string, Uint32Array<ArrayBuffer>> = new Map(),
  ) {}

  get maskMs(): number {
    return this.stats.ms;
  }

  get masks(): number {
    return this.stats.count;
  }

  mask(): Uint32Array<ArrayBuffer> {
    const t0 = performance.now();
    const key = this.automaton.key?.(this.state);
    let words = key === undefined ? undefined : this.cache.get(key);
    if (!words) {
      words = this.trie.mask(this.automaton, this.state, this.automaton.accepting(this.state) ? this.eosIds : []);
      if (key !== undefined) {
        if (this.cache.size >= MASK_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(key, words);
      }
    }
    this.stats.ms += performance.now() - t0;
    this.stats.count++;
    return words;
  }

  advance(token: number): void {
    if (this.eosIds.includes(token)) return;
    const next = this.after(token);
    if (next === undefined) throw new InferError(`constrained decoding chose token ${token}, which its mask did not allow`);
    this.state = next;
  }

  fork(): AutomatonConstraint<S> {
    return new AutomatonConstraint(this.trie, this.automaton, this.state, this.eosIds, this.stats, this.cache);
  }

  private after(token: number): S | undefined {
    const text = this.trie.texts[token] ?? '';
    if (text.length === 0 || text.includes('\uFFFD')) return undefined; // the trie never allows such tokens
    let s: S | undefined = this.state;
    for (let i = 0; i < text.length && s !== undefined; i++) s = this.automaton.feed(s, text[i]);
    return s;
  }
}
