import { feed, type Stack } from './json_grammar';

interface TrieNode {
  /** tokens whose text ends here */
  tokens: number[];
  children: Map<string, TrieNode>;
}

/**
 * The vocabulary as a trie over each token's text (UTF-16 code units), built once per tokenizer. A mask walks it
 * depth-first with the automaton: a subtree whose prefix the automaton rejects is skipped whole.
 * Tokens with no text of their own (special tokens, pieces of a UTF-8 character) are never allowed by it.
 */
export class TokenTrie {
  private readonly root: TrieNode = { tokens: [], children: new Map() };

  constructor(readonly texts: readonly string[]) {
    texts.forEach((text, id) => {
      if (text.length === 0 || text.includes('\uFFFD')) return;
      let node = this.root;
      for (let i = 0; i < text.length; i++) {
        let child = node.children.get(text[i]);
        if (!child) node.children.set(text[i], (child = { tokens: [], children: new Map() }));
        node = child;
      }
      node.tokens.push(id);
    });
  }

  /** Bit t % 32 of word t / 32 set for every token the automaton in `stack` accepts next, and for `extra`. */
  mask(stack: Stack, extra: readonly number[]): Uint32Array<ArrayBuffer> {
    const words = new Uint32Array(Math.ceil(this.texts.length / 32));
    const allow = (t: number) => { words[t >>> 5] |= 1 << (t & 31); };
    const visit = (node: TrieNode, s: Stack) => {
      for (const [c, child] of node.children) {
        const next = feed(s, c);
        if (next === undefined) continue;
        child.tokens.forEach(allow);
        if (child.children.size > 0) visit(child, next);
      }
    };
    visit(this.root, stack);
    extra.forEach(allow);
    return words;
  }
}
