/** What the random-weight test models share: their folder (a shipped model's config and tokenizer) and seeded weights. */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An F32 safetensors entry: values uniform in (-scale, scale) from the generator, or all `constant`. */
export type RandomTensor = (shape: number[], scale: number, constant?: number) => { dtype: 'F32'; shape: number[]; data: Uint8Array };

/** Seeded F32 tensors (a linear congruential generator: the same seed gives the same weights on every machine). */
export function seededTensors(seed: number): RandomTensor {
  let state = seed;
  const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return (shape, scale, constant) => ({
    dtype: 'F32', shape,
    data: new Uint8Array(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => constant ?? random() * scale).buffer),
  });
}

/**
 * Writes into `dir` the config of the shipped model `from` without its draft adapters (`self_speculative`: a random
 * model has none), with `overrides` and f32 weights, and `from`'s tokenizer files; returns that config.
 */
export function randomModelFolder(dir: string, from: string, overrides: Record<string, unknown>) {
  const { self_speculative: _, ...shipped } = JSON.parse(readFileSync(`${from}/config.json`, 'utf8'));
  const config = { ...shipped, ...overrides, torch_dtype: 'float32' };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(join(from, f), join(dir, f));
  return config;
}
