import { ModelFormatError } from '../../contract/errors';
import { ggufArchitecture, type GgufModelView } from './architectures';
import type { GgufHeader, GgufValue } from './header';

/** Typed metadata access with errors naming the file and key. */
export class Metadata {
  constructor(readonly header: GgufHeader) {}

  has(key: string): boolean {
    return this.header.metadata.has(key);
  }

  private fail(key: string, message: string): ModelFormatError {
    return new ModelFormatError(`${this.header.file}: metadata "${key}": ${message}`, { file: this.header.file, field: key });
  }

  get(key: string): GgufValue | undefined {
    return this.header.metadata.get(key);
  }

  number(key: string, fallback?: number): number {
    const v = this.get(key) ?? fallback;
    if (v === undefined) throw this.fail(key, 'missing');
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw this.fail(key, `${String(v)} is not a number`);
    return n;
  }

  string(key: string, fallback?: string): string {
    const v = this.get(key) ?? fallback;
    if (typeof v !== 'string') throw this.fail(key, v === undefined ? 'missing' : 'not a string');
    return v;
  }

  strings(key: string): string[] {
    const v = this.get(key);
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw this.fail(key, 'missing or not an array of strings');
    return v as string[];
  }

  numbers(key: string): number[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'number')) throw this.fail(key, 'not an array of numbers');
    return v as number[];
  }
}

/**
 * The Hugging Face config.json equivalent of a GGUF model's hyper-parameters (validated by parseConfig); `headers`:
 * all its files, `factors`: the values of its factor tensors (FACTOR_TENSORS) where it has them.
 */
export function ggufConfigJson(meta: Metadata, headers: GgufHeader[] = [meta.header], factors: ReadonlyMap<string, number[]> = new Map()): Record<string, unknown> {
  const tensors = headers.flatMap((h) => h.tensors);
  const arch = ggufArchitecture(meta);
  const key = (k: string) => `${arch.name}.${k}`;
  const names = new Set(tensors.map((t) => t.name));
  const view: GgufModelView = { meta, key, tensors, has: (name) => names.has(name), factors };
  const heads = meta.number(key('attention.head_count'));
  const hidden = meta.number(key('embedding_length'));
  const tokens = meta.get('tokenizer.ggml.tokens');
  const embed = tensors.find((t) => t.name === 'token_embd.weight');
  const vocab = meta.has(key('vocab_size')) ? meta.number(key('vocab_size')) : Array.isArray(tokens) ? tokens.length : embed?.dims[1];
  const scaling = meta.get(key('rope.scaling.type'));
  const eos = meta.get('tokenizer.ggml.eos_token_id');
  return {
    architectures: [arch.hf(view)],
    hidden_size: hidden,
    intermediate_size: meta.number(key('feed_forward_length'), meta.get(key('expert_feed_forward_length')) as number | undefined),
    num_hidden_layers: meta.number(key('block_count')),
    num_attention_heads: heads,
    num_key_value_heads: meta.number(key('attention.head_count_kv'), heads),
    head_dim: meta.number(key('attention.key_length'), hidden / heads),
    vocab_size: vocab,
    max_position_embeddings: meta.number(key('context_length')),
    rope_theta: meta.number(key('rope.freq_base'), 10000),
    rope_scaling: scaling === undefined || scaling === 'none' ? null : { rope_type: scaling, factor: meta.number(key('rope.scaling.factor')) },
    rms_norm_eps: meta.number(key('attention.layer_norm_rms_epsilon')),
    // llama.cpp reuses the embedding as the output projection when the file has no output.weight
    tie_word_embeddings: !names.has('output.weight'),
    bos_token_id: meta.get('tokenizer.ggml.bos_token_id') === undefined ? null : meta.number('tokenizer.ggml.bos_token_id'),
    eos_token_id: eos === undefined ? null : meta.number('tokenizer.ggml.eos_token_id'),
    ...arch.config?.(view),
  };
}
