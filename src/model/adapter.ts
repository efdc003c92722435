/**
 * Kangaroo adapters (arXiv 2404.18911): the optional `self_speculative` block of config.json and the tensor schema
 * of the adapter file it names. A draft from exit layer l runs layers 1..l, then one attention-only block with its
 * own one-layer KV cache, then the model's LM head:
 *   n = norm(h; input_layernorm),  a = h + o(attn(rope(q(n)), rope(k(n)), v(n))),  logits = lm_head(norm(a; norm))
 * Tensors `kangaroo.{l}.input_layernorm.weight`, `.self_attn.{q,k,v,o}_proj.weight`, `.norm.weight` (no biases).
 *
 * A draft vocabulary (FR-Spec, arXiv 2502.14856), `draft_vocab_size` N: the drafts score only the N most frequent
 * tokens, whose ids (I32 [N], most frequent first, distinct, each < vocab) are the tensor `draft_vocab.ids` of the
 * adapter file. The loader gathers those rows of the LM head into a draft head of its own (model/draft_vocab.ts);
 * the verify pass keeps the whole head, so the output is unchanged.
 */
import { ModelFormatError } from '../contract/errors';
import type { ModelConfig } from './config';
import { matrix, vector, type TensorSpec } from './family';

export const DEFAULT_ADAPTER_FILE = 'adapter.safetensors';

/** One adapter: the exit layer it follows (1-based: layers 1..exitLayer ran) and its attention shape. */
export interface AdapterShape {
  exitLayer: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** config.json's `self_speculative` block. */
export interface SelfSpeculativeConfig {
  /** the adapter safetensors file, next to the model's */
  adapterFile: string;
  adapters: AdapterShape[];
  /** tokens of the draft vocabulary (FR-Spec), absent without one */
  draftVocabSize?: number;
}

/** The draft vocabulary's ids in the adapter file: I32 [draft_vocab_size], most frequent first. */
export const DRAFT_VOCAB_TENSOR = 'draft_vocab.ids';

/**
 * Parses the `self_speculative` block of config.json (undefined when absent) for a model of `layers` layers and a
 * vocabulary of `vocab` tokens. It holds adapters, a draft vocabulary, or both.
 */
export function parseSelfSpeculative(block: unknown, layers: number, vocab: number, file = 'config.json'): SelfSpeculativeConfig | undefined {
  if (block === undefined || block === null) return undefined;
  const fail = (field: string, message: string) => new ModelFormatError(`${file}: field "self_speculative${field}": ${message}`, { file, field: `self_speculative${field}` });
  if (typeof block !== 'object' || Array.isArray(block)) throw fail('', 'not an object');
  const b = block as Record<string, unknown>;
  const adapterFile = b.adapter_file ?? DEFAULT_ADAPTER_FILE;
  if (typeof adapterFile !== 'string' || !/^[\w.-]+\.safetensors$/.test(adapterFile)) throw fail('.adapter_file', `${JSON.stringify(adapterFile)} is not a .safetensors file name in the model folder`);
  const size = b.draft_vocab_size;
  if (size !== undefined && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= 1 && size <= vocab)) {
    throw fail('.draft_vocab_size', `${JSON.stringify(size)} is not an integer in 1..${vocab} (vocab_size)`);
  }
  if (size === undefined && b.adapters === undefined) throw fail('', 'declares neither adapters nor draft_vocab_size');
  if (b.adapters !== undefined && (!Array.isArray(b.adapters) || b.adapters.length === 0)) throw fail('.adapters', 'not a non-empty list');
  const adapters = ((b.adapters ?? []) as unknown[]).map((entry: unknown, i): AdapterShape => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(`.adapters[${i}]`, 'not an object');
    const e = entry as Record<string, unknown>;
    const int = (name: string, max: number) => {
      const v = e[name];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) throw fail(`.adapters[${i}].${name}`, `${JSON.stringify(v)} is not an integer in 1..${max}`);
      return v;
    };
    const shape = { exitLayer: int('exit_layer', layers - 1), heads: int('num_attention_heads', 1024), kvHeads: int('num_key_value_heads', 1024), headDim: int('head_dim', 1024) };
    if (shape.heads % shape.kvHeads !== 0) throw fail(`.adapters[${i}].num_key_value_heads`, `${shape.kvHeads} does not divide num_attention_heads ${shape.heads}`);
    if (shape.headDim % 2 !== 0) throw fail(`.adapters[${i}].head_dim`, `${shape.headDim} is odd; RoPE rotates pairs`);
    return shape;
  });
  const exits = adapters.map((a) => a.exitLayer);
  const repeated = exits.find((l, i) => exits.indexOf(l) !== i);
  if (repeated !== undefined) throw fail('.adapters', `two adapters for exit layer ${repeated}`);
  return { adapterFile, adapters, ...(size !== undefined ? { draftVocabSize: size } : {}) };
}

/** The adapter of exit layer `exitLayer` (1-based), if the model has one. */
export function adapterAt(config: ModelConfig, exitLayer: number): AdapterShape | undefined {
  return config.selfSpeculative?.adapters.find((a) => a.exitLayer === exitLayer);
}

/** The adapters' tensors (none without the block), under keys `adapters.{l}.*`. */
export function adapterTensors(c: ModelConfig): TensorSpec[] {
  return (c.selfSpeculative?.adapters ?? []).flatMap(({ exitLayer: l, heads, kvHeads, headDim }) => {
    const p = `kangaroo.${l}`, key = `adapters.${l}`;
    const q = heads * headDim, kv = kvHeads * headDim;
    return [
      vector(`${key}.inputNorm`, `${p}.input_layernorm.weight`, c.hidden),
      matrix(`${key}.q`, `${p}.self_attn.q_proj.weight`, q, c.hidden),
      matrix(`${key}.k`, `${p}.self_attn.k_proj.weight`, kv, c.hidden),
      matrix(`${key}.v`, `${p}.self_attn.v_proj.weight`, kv, c.hidden),
      matrix(`${key}.o`, `${p}.self_attn.o_proj.weight`, c.hidden, q),
      vector(`${key}.norm`, `${p}.norm.weight`, c.hidden),
    ];
  });
}

/** The draft vocabulary's ids tensor (none without one). */
export function draftVocabTensors(c: ModelConfig): TensorSpec[] {
  const n = c.selfSpeculative?.draftVocabSize;
  return n ? [{ key: 'draftVocab.ids', kind: 'ids', parts: [DRAFT_VOCAB_TENSOR], partRows: 1, cols: n, quantizable: false }] : [];
}

/** Bytes of the adapters' f32 KV caches for `context` positions. */
export function adapterKvBytes(c: ModelConfig, context: number): number {
  return (c.selfSpeculative?.adapters ?? []).reduce((n, a) => n + 2 * 4 * a.kvHeads * a.headDim * context, 0);
}
