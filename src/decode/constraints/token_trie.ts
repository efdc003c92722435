import { isPlainStringText } from './json_grammar';
import type { CharAutomaton } from './automaton';

interface TrieNode {
  /** tokens whose text ends here */
  tokens: number[];
  children: Map<string, TrieNode>;
}

const newNode = (): TrieNode => ({ tokens: [], children: new Map() });

/**
 * The vocabulary as a trie over each token's text (UTF-16 code units), built once per tokenizer. A mask walks it
 * depth-first with the automaton: a subtree whose prefix the automaton rejects is skipped whole.
 * Inside a string's body most tokens are plain text (no quote, backslash or control character) and are allowed
 * by length alone: their mask per length limit is built once from a length-sorted list, and only the other tokens' trie is walked.
 * Tokens with no text of their own (special tokens, pieces of a UTF-8 character) are never allowed by it.
 */
export class TokenTrie {
  private readonly root = newNode();
  /** the tokens that are not plain string text */
  private readonly special = newNode();
  /** plain string tokens by ascending text length */
  private readonly plainIds: Int32Array;
  private readonly plainLengths: Int32Array;
  /** the mask of the plain tokens of at most n characters, by n (up to the longest plain token), built on first use */
  private readonly plainMasks = new Map<number, Uint32Array<ArrayBuffer>>();

  constructor(readonly texts: readonly string[]) {
    const plain: number[] = [];
    texts.forEach((text, id) => {
      if (text.length === 0 || text.includes('\uFFFD')) return;
      insert(this.root, text, id);
      if (isPlainStringText(text)) plain.push(id);
      else insert(this.special, text, id);
    });
    plain.sort((a, b) => texts[a].length - texts[b].length);
    this.plainIds = Int32Array.from(plain);
    this.plainLengths = Int32Array.from(plain, (id) => texts[id].length);
  }

  /** Bit t % 32 of word t / 32 set for every token the automaton in `state` accepts next, and for `extra`. */
  mask<S>(automaton: CharAutomaton<S>, state: S, extra: readonly number[]): Uint32Array<ArrayBuffer> {
    const room = automaton.plainRoom?.(state);
    const words = room === undefined ? new Uint32Array(Math.ceil(this.texts.length / 32)) : this.plainUpTo(room).slice();
    const allow = (t: number) => { words[t >>> 5] |= 1 << (t & 31); };
    const visit = (node: TrieNode, s: S) => {
      for (const [c, child] of node.children) {
        const next = automaton.feed(s, c);
        if (next === undefined) continue;
        child.tokens.forEach(allow);
        if (child.children.size > 0) visit(child, next);
      }
    };
    visit(room === undefined ? this.root : this.special, state);
    extra.forEach(allow);
    return words;
  }

  private plainUpTo(room: number): Uint32Array<ArrayBuffer> {
    const n = Math.min(room, this.plainLengths[this.plainLengths.length - 1] ?? 0);
    let words = this.plainMasks.get(n);
    if (!words) {
      words = new Uint32Array(Math.ceil(this.texts.length / 32));
      for (let k = 0; k < this.plainIds.length && this.plainLengths[k] <= n; k++) words[this.plainIds[k] >>> 5] |= 1 << (this.plainIds[k] & 31);
      this.plainMasks.set(n, words);
    }
    return words;
  }
}

function insert(root: TrieNode, text: string, id: number): void {
  let node = root;
  for (let i = 0; i < text.length; i++) {
    let child = node.children.get(text[i]);
    if (!child) node.children.set(text[i], (child = newNode()));
    node = child;
  }
  node.tokens.push(id);
}
