/**
 * Non-finite numbers: NaN or infinity in a weight is refused while it streams (ModelFormatError naming the
 * tensor) unless the caller opts out; non-finite logits then end a generation with NonFiniteError, not token 0.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError, NonFiniteError } from '../src/contract/errors';
import type { Strategy } from '../src/contract/types';
import { memorySource } from '../src/model/source';
import { Runtime, type RuntimeOptions } from '../src/runtime/runtime';
import { testGpu } from './helpers/gpu';
import { INF, NAN, poisoned } from './helpers/non_finite';

const F16_MODEL = 'tests/fixtures/models/llama-tied'; // F16 weights: streamed as stored
const F32_MODEL = 'tests/fixtures/models/llama-gqa3'; // F32 weights
const BF16_MODEL = 'tests/fixtures/models/llama-headdim'; // BF16 weights: streamed as stored
const TENSOR = 'model.layers.0.mlp.down_proj.weight';
/** The model's files with element `index` of `tensor` replaced by the given bits (NaN or infinity). */
function poisonedModel(dir: string, tensor: string, index: number, bits: typeof NAN): Record<string, Uint8Array | string> {
  const bytes = poisoned(readFileSync(`${dir}/model.safetensors`), tensor, index, bits);
  return { 'config.json': readFileSync(`${dir}/config.json`, 'utf8'), 'model.safetensors': bytes };
}

async function load(files: Record<string, Uint8Array | string>, options: RuntimeOptions = {}) {
  return Runtime.load(await testGpu(), memorySource(files, 4096), { contextLength: 64, ...options });
}
const generate = (runtime: Runtime, strategy: Strategy = { kind: 'greedy' }) =>
  runtime.generate({ prompt: [3, 7, 11], maxTokens: 4, stopAtEos: false, strategy }, () => undefined);

describe('non-finite weights', () => {
  it('are refused while streaming, naming the tensor (f16 and f32 as stored, converted on quantize)', async () => {
    const cases: [string, string, RuntimeOptions, typeof NAN][] = [
      ['f16 NaN', F16_MODEL, {}, NAN], ['f16 infinity', F16_MODEL, {}, INF], ['f32 NaN', F32_MODEL, {}, NAN],
      ['f32 infinity', F32_MODEL, {}, INF], ['f16 NaN quantized to q8', F16_MODEL, { quantize: 'q8' }, NAN],
      ['bf16 NaN', BF16_MODEL, {}, NAN], ['bf16 infinity', BF16_MODEL, {}, INF],
    ];
    for (const [what, dir, options, bits] of cases) {
      const error = await load(poisonedModel(dir, TENSOR, 1000, bits), options).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).details.tensor, what).toBe(TENSOR);
      expect((error as Error).message, what).toMatch(/NaN or infinity/);
    }
    // bf16 0x7c00 is 2^121, finite (the f16 infinity pattern must not be read as one in bf16)
    const large = await load(poisonedModel(BF16_MODEL, TENSOR, 1000, { ...INF, BF16: 0x7c00 }));
    large.dispose();
  });

  it('load with scanWeights: false, and generation then ends with NonFiniteError in every strategy; the engine stays usable', async () => {
    const runtime = await load(poisonedModel(F16_MODEL, TENSOR, 1000, NAN), { scanWeights: false });
    try {
      for (const strategy of [{ kind: 'greedy' }, { kind: 'sample', temperature: 0.8, seed: 1 }, { kind: 'self-speculative', exitLayer: 1, draftLength: 2 },
        { kind: 'self-speculative', exitLayer: 1, draftLength: 2, sampling: { temperature: 0.7 } }, { kind: 'superposed', drafts: 2 }] as Strategy[]) {
        await expect(generate(runtime, strategy), strategy.kind).rejects.toBeInstanceOf(NonFiniteError);
      }
      await expect(generate(runtime), 'again').rejects.toBeInstanceOf(NonFiniteError);
    } finally {
      runtime.dispose();
    }
    // the same files unpoisoned load and generate as always
    const clean = await load({ 'config.json': readFileSync(`${F16_MODEL}/config.json`, 'utf8'), 'model.safetensors': new Uint8Array(readFileSync(`${F16_MODEL}/model.safetensors`)) });
    expect((await generate(clean)).tokens).toHaveLength(4);
    clean.dispose();
  });
});
