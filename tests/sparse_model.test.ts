import { describe, expect, it } from 'vitest';
import { loadRuntime } from './helpers/runtime';
import { readFixture } from './helpers/fixtures';
import { SparseMlp } from '../src/model/sparsity';
import { UnsupportedModelError } from '../src/contract/errors';

/** Activation sparsity (CATS) on the dense MLPs of a whole model. */
const fixture = readFixture('tests/fixtures/models/llama-gqa3/fixture.safetensors');
const prompt = Array.from(fixture.greedy_prompt);
const expected = Array.from(fixture.greedy_tokens);

describe('activation-sparse MLP', () => {
  it('skipping (almost) nothing decodes exactly like the dense model', async () => {
    const runtime = await loadRuntime('tests/fixtures/models/llama-gqa3', { sparsity: { mlp: 1e-6 } });
    const result = await runtime.generate({ prompt, maxTokens: expected.length, stopAtEos: false }, () => undefined);
    expect(result.tokens).toEqual(expected);
    expect(result.stats.mlpSparsity).toBeLessThan(0.02);
    runtime.dispose();
  });

  it.each([0.3, 0.5, 0.7])('skips about the calibrated fraction %s of neurons and reports it', async (target) => {
    const runtime = await loadRuntime('public/models/tiny-dense', { sparsity: { mlp: target } });
    const result = await runtime.generate({ prompt: 'Once upon a time', maxTokens: 24, stopAtEos: false }, () => undefined);
    expect(result.stats.mlpSparsity).toBeGreaterThan(target - 0.15);
    expect(result.stats.mlpSparsity).toBeLessThan(target + 0.15);
    runtime.dispose();
  });

  it('rejects a fraction outside [0, 1)', async () => {
    await expect(loadRuntime('tests/fixtures/models/llama-gqa3', { sparsity: { mlp: 1 } })).rejects.toThrow(/sparsity/);
  });
});

describe('activation-sparse MLP on an unsupported shape', () => {
  it('refuses a hidden size that is not a multiple of 32 with UnsupportedModelError, before touching the weights', async () => {
    const runtime = await loadRuntime('public/models/tiny-dense');
    const config = { ...runtime.config, hidden: 40 };
    const error = await SparseMlp.create(runtime.gpu, config, runtime.weights, 0.5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedModelError);
    expect((error as UnsupportedModelError).message).toMatch(/multiple of 32, got 40/);
    runtime.dispose();
  });
});
