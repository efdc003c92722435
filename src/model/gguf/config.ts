import { ModelFormatError, UnsupportedModelError } from '../../contract/errors';
import type { GgufHeader, GgufValue } from './header';

/**
 * GGUF architectures this runtime maps onto its Hugging Face families. `mistral` files use the llama
 * architecture; `interleavedQk`: llama.cpp's converter reorders llama's q/k rows for interleaved RoPE.
 */
const ARCHITECTURES: Record<string, { hf: string; interleavedQk: boolean }> = {
  llama: { hf: 'LlamaForCausalLM', interleavedQk: true },
  qwen2: { hf: 'Qwen2ForCausalLM', interleavedQk: false },
};

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

export function ggufArchitecture(meta: Metadata): { name: string; hf: string; interleavedQk: boolean } {
  const name = meta.string('general.architecture');
  const arch = ARCHITECTURES[name];
  if (!arch) throw new UnsupportedModelError(`${meta.header.file}: GGUF architecture "${name}" is not supported (${Object.keys(ARCHITECTURES).join(', ')})`, { file: meta.header.file, field: 'general.architecture' });
  return { name, ...arch };
}

/** The Hugging Face config.json equivalent of a GGUF model's hyper-parameters (validated by parseConfig); `headers`: all its files. */
export function ggufConfigJson(meta: Metadata, headers: GgufHeader[] = [meta.header]): Record<string, unknown> {
  const tensors = headers.flatMap((h) => h.tensors);
  const { name, hf } = ggufArchitecture(meta);
  const key = (k: string) => `${name}.${k}`;
  if (meta.has(key('expert_count'))) throw new UnsupportedModelError(`${meta.header.file}: mixture-of-experts GGUF files are not supported yet`, { file: meta.header.file, field: key('expert_count') });
  const heads = meta.number(key('attention.head_count'));
  const hidden = meta.number(key('embedding_length'));
  const tokens = meta.get('tokenizer.ggml.tokens');
  const embed = tensors.find((t) => t.name === 'token_embd.weight');
  const vocab = meta.has(key('vocab_size')) ? meta.number(key('vocab_size')) : Array.isArray(tokens) ? tokens.length : embed?.dims[1];
  const scaling = meta.get(key('rope.scaling.type'));
  if (tensors.some((t) => t.name === 'rope_freqs.weight')) {
    throw new UnsupportedModelError(`${meta.header.file}: per-dimension RoPE frequency factors (rope_freqs.weight, Llama 3.1+ scaling) are not supported yet`, { file: meta.header.file, tensor: 'rope_freqs.weight' });
  }
  const eos = meta.get('tokenizer.ggml.eos_token_id');
  return {
    architectures: [hf],
    hidden_size: hidden,
    intermediate_size: meta.number(key('feed_forward_length')),
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
    tie_word_embeddings: !tensors.some((t) => t.name === 'output.weight'),
    bos_token_id: meta.get('tokenizer.ggml.bos_token_id') === undefined ? null : meta.number('tokenizer.ggml.bos_token_id'),
    eos_token_id: eos === undefined ? null : meta.number('tokenizer.ggml.eos_token_id'),
  };
}
