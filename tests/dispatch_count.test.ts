import { describe, expect, it } from 'vitest';
import { testGpu } from './helpers/gpu';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import type { StepShape } from '../src/contract/types';

/**
 * Dispatches per step on tiny-dense, counted by `kernelProfile()`. The expected numbers are the forward pass as
 * recorded today; a fusion changes them here, on purpose.
 *   per layer: 2 RMSNorms, q, k, v, RoPE + KV append, split-K attention (partials, reduce), o (+x), gate, up (·SiLU), down (+x)
 *   outside:   embedding, final RMSNorm, LM head, and the token choice (argmax; or distribution + sample)
 */
const PER_LAYER = 12;
const OUTSIDE_GREEDY = 4;
const OUTSIDE_SAMPLED = 5;

async function profiled(): Promise<Runtime> {
  return Runtime.load(await testGpu(), directorySource('public/models/tiny-dense'), { contextLength: 64, profile: true });
}

const kernelsMatching = (shape: StepShape, re: RegExp) => shape.kernels.filter((k) => re.test(k.kernel)).reduce((s, k) => s + k.perStep, 0);

describe('kernelProfile: dispatches per decode step', () => {
  it('greedy decode on tiny-dense: 12 per layer + 4, every step the same, with CPU encode and readback-wait times', async () => {
    const runtime = await profiled();
    const layers = runtime.config.layers;
    // a one-token prompt has no prefill: every step is a decode step
    await runtime.generate({ prompt: [5], maxTokens: 6, stopAtEos: false, strategy: { kind: 'greedy' } }, () => undefined);
    const profile = runtime.kernelProfile();
    expect(profile.layers).toBe(layers);
    expect(profile.steps).toHaveLength(1);
    const [decode] = profile.steps;
    expect(decode.steps).toBe(6);
    expect(decode.dispatches).toBe(PER_LAYER * layers + OUTSIDE_GREEDY);
    expect(decode.perLayer).toBe(PER_LAYER);
    expect(decode.outsideLayers).toBe(OUTSIDE_GREEDY);
    expect(kernelsMatching(decode, /norm/i)).toBe(2 * layers + 1);
    expect(kernelsMatching(decode, /argmax/i)).toBe(1);
    expect(decode.encodeMs).toBeGreaterThan(0);
    expect(decode.readbackWaitMs).toBeGreaterThanOrEqual(0);
    if (profile.timestamps) {
      expect(decode.gpuMs).toBeGreaterThan(0);
      const perKernel = decode.kernels.reduce((s, k) => s + k.gpuMs!, 0);
      expect(Math.abs(perKernel - decode.gpuMs!)).toBeLessThan(0.5 * decode.gpuMs!); // mean vs median of the same steps
    } else expect(decode.gpuMs).toBeNull();
    // the per-kernel view counts the same dispatches
    expect(profile.kernels.reduce((s, k) => s + k.count, 0)).toBe(6 * decode.dispatches);
    runtime.dispose();
  });

  it('sampled decode: one more dispatch per step (distribution, then the draw); prefill chunks are a shape of their own', async () => {
    const runtime = await profiled();
    const layers = runtime.config.layers;
    await runtime.generate({ prompt: [5, 6, 7, 8, 9], maxTokens: 3, stopAtEos: false, strategy: { kind: 'sample', temperature: 0.8, seed: 1 } }, () => undefined);
    const { steps } = runtime.kernelProfile();
    const decode = steps.find((s) => s.steps === 3)!;
    expect(decode.dispatches).toBe(PER_LAYER * layers + OUTSIDE_SAMPLED);
    // the prefill chunk (4 tokens, split-K attention): embedding and layers, no head
    const prefill = steps.find((s) => s.steps === 1)!;
    expect(prefill.dispatches).toBe(PER_LAYER * layers + 1);
    runtime.dispose();
  });
});
