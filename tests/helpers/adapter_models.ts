import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { f32ToF16Bits } from '../../src/kernels/quantize';
import { parseHeaderJson, parseHeaderLength } from '../../src/model/safetensors';
import { randomFloats } from './reference';
import { safetensorsBytes, type TensorSpec } from './safetensors_writer';

export interface AdapterSpec {
  exit_layer: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
}

const f16 = (values: Float32Array, shape: number[]): TensorSpec => {
  const bits = f32ToF16Bits(values);
  return { dtype: 'F16', shape, data: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) };
};

/**
 * F16 adapter tensors with random weights (the adapter format's names): norms near 1, projections of scale
 * `scale`. `oScale` sets how far the adapter moves the exit state, and `finalNorm` (the model's norm) makes a
 * draft with a small `oScale` close to the plain exit's.
 */
export function randomAdapterTensors(hidden: number, specs: AdapterSpec[], seed: number, { scale = 0.05, oScale = scale, finalNorm }: { scale?: number; oScale?: number; finalNorm?: TensorSpec } = {}): Record<string, TensorSpec> {
  const tensors: Record<string, TensorSpec> = {};
  let s = seed;
  const matrix = (rows: number, cols: number, k = scale) => f16(randomFloats(rows * cols, s++, k), [rows, cols]);
  const norm = () => f16(randomFloats(hidden, s++, 0.1).map((x) => 1 + x), [hidden]);
  for (const a of specs) {
    const p = `kangaroo.${a.exit_layer}`;
    const q = a.num_attention_heads * a.head_dim, kv = a.num_key_value_heads * a.head_dim;
    tensors[`${p}.input_layernorm.weight`] = norm();
    tensors[`${p}.self_attn.q_proj.weight`] = matrix(q, hidden);
    tensors[`${p}.self_attn.k_proj.weight`] = matrix(kv, hidden);
    tensors[`${p}.self_attn.v_proj.weight`] = matrix(kv, hidden);
    tensors[`${p}.self_attn.o_proj.weight`] = matrix(hidden, q, oScale);
    tensors[`${p}.norm.weight`] = finalNorm ?? norm();
  }
  return tensors;
}

/** Every tensor of a safetensors file as stored (dtype, shape, bytes), by name. */
export function storedTensors(path: string): Record<string, TensorSpec> {
  const bytes = new Uint8Array(readFileSync(path));
  const n = parseHeaderLength(bytes.subarray(0, 8), bytes.length, path);
  const tensors = parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length, path).tensors;
  return Object.fromEntries(tensors.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: bytes.slice(t.start, t.end) }]));
}

/** One tensor of a safetensors file as stored. */
export function storedTensor(path: string, name: string): TensorSpec {
  return storedTensors(path)[name];
}

/**
 * A copy of the model folder `modelDir` under .cache/adapter-models/`name` whose adapter file (kept, or made)
 * also holds the draft vocabulary `ids` (I32, or `ids` as a tensor given whole) and whose config declares its size.
 */
export function modelWithDraftVocab(modelDir: string, name: string, ids: number[] | TensorSpec, size = Array.isArray(ids) ? ids.length : ids.shape[0]): string {
  const dir = join('.cache', 'adapter-models', name);
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(modelDir)) if (statSync(join(modelDir, file)).isFile()) copyFileSync(join(modelDir, file), join(dir, file));
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  const block = (config.self_speculative ??= { adapter_file: 'adapter.safetensors' });
  const adapterFile = join(dir, block.adapter_file ?? 'adapter.safetensors');
  const tensors = config.self_speculative.adapters ? storedTensors(adapterFile) : {};
  tensors['draft_vocab.ids'] = Array.isArray(ids) ? { dtype: 'I32', shape: [ids.length], data: new Uint8Array(Int32Array.from(ids).buffer) } : ids;
  block.draft_vocab_size = size;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(adapterFile, safetensorsBytes(tensors));
  return dir;
}

/**
 * A copy of the model folder `modelDir` (its files, not sub-folders) under .cache/adapter-models/`name`, with
 * `adapter.safetensors` holding `tensors` and config.json declaring `specs`; `files` are written over the copy.
 */
export function modelWithAdapter(modelDir: string, name: string, specs: AdapterSpec[], tensors: Record<string, TensorSpec>, files: Record<string, string | Uint8Array> = {}): string {
  const dir = join('.cache', 'adapter-models', name);
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(modelDir)) if (statSync(join(modelDir, file)).isFile()) copyFileSync(join(modelDir, file), join(dir, file));
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  config.self_speculative = { adapter_file: 'adapter.safetensors', adapters: specs };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'adapter.safetensors'), safetensorsBytes(tensors));
  for (const [file, data] of Object.entries(files)) writeFileSync(join(dir, file), data);
  return dir;
}
