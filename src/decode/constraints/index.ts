/** Constrained decoding: response formats compiled once, advanced per token, masks computed on the CPU. */
import { InferError } from '../../contract/errors';
import type { ResponseFormat } from '../../contract/types';
import type { TokenConstraint } from '../strategy';
import { accepting, documentStack, feed, type JsonNode, type Stack } from './json_grammar';
import { compileSchema, FREE_OBJECT } from './json_schema';
import { TokenTrie } from './token_trie';

export { TokenTrie } from './token_trie';

/** Compiled schemas by their JSON text (a chat sends the same schema every turn). */
const compiled = new Map<string, JsonNode>();
const COMPILED_MAX = 32;

/** The grammar node of a JSON response format (compiled once per schema), or undefined for plain text. */
export function responseNode(format: ResponseFormat | undefined): JsonNode | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return FREE_OBJECT;
  const key = JSON.stringify(format.json_schema.schema ?? {});
  let node = compiled.get(key);
  if (!node) {
    node = compileSchema(format.json_schema.schema ?? {});
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, node);
  }
  return node;
}

/** One request's JSON constraint: the automaton's state after the tokens so far. EOS is allowed once the value is complete. */
export class JsonConstraint implements TokenConstraint {
  private stack: Stack;
  /** CPU time spent computing masks (ms) and how many */
  maskMs = 0;
  masks = 0;

  constructor(private readonly trie: TokenTrie, node: JsonNode, private readonly eosIds: readonly number[]) {
    this.stack = documentStack(node);
  }

  mask(): Uint32Array<ArrayBuffer> {
    const t0 = performance.now();
    const words = this.trie.mask(this.stack, accepting(this.stack) ? this.eosIds : []);
    this.maskMs += performance.now() - t0;
    this.masks++;
    return words;
  }

  advance(token: number): void {
    if (this.eosIds.includes(token)) return;
    const text = this.trie.texts[token] ?? '';
    let s: Stack | undefined = this.stack;
    for (let i = 0; i < text.length && s !== undefined; i++) s = feed(s, text[i]);
    if (s === undefined) throw new InferError(`constrained decoding chose token ${token}, which its mask did not allow`);
    this.stack = s;
  }
}
