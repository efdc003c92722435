import { describe, expect, it } from 'vitest';
import { testGpu } from './helpers/gpu';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import type { StepShape } from '../src/contract/types';
import { SPLIT_K_TILE, splitKKernel } from '../src/kernels/attention';
import { decodeAttentionFits } from '../src/kernels/linear';
import type { WeightMatrix } from '../src/kernels/tensor';

/**
 * Dispatches per step on tiny-dense, counted by `kernelProfile()`. The expected numbers are the forward pass as
 * recorded today; a fusion changes them here, on purpose.
 *   per layer: q/k/v (one gemv, input RMSNorm in its prologue, RoPE and the KV append in its epilogue), split-K attention, o (+x),
 *              gate and up (one gemv, MLP RMSNorm in its prologue, SiLU(gate)·up in its epilogue), down (+x)
 *   attention: partials and a reduce; one pass (no reduce) where every row's context fits one tile; for a decode
 *              row on a CPU adapter, both inside the q/k/v gemv's dispatch (attention/qkv_decode.wgsl): 4 per layer
 *   outside:   embedding, LM head (final RMSNorm in its prologue), and the token choice (greedy: the LM head stores
 *              per-workgroup partials and one pass picks; sampled: distribution + sample over the logits)
 */
const PER_LAYER = 6;
const OUTSIDE_GREEDY = 3;
const OUTSIDE_SAMPLED = 4;

async function profiled(): Promise<Runtime> {
  return Runtime.load(await testGpu(), directorySource('public/models/tiny-dense'), { contextLength: 64, profile: true });
}

/** Whether the runtime's decode row at startPos runs its attention in the q/k/v dispatch (CPU adapters). */
const attentionInQkv = (runtime: Runtime, startPos: number) => {
  const { hidden, headDim, heads, kvHeads } = runtime.config;
  const qkv = { rows: (heads + 2 * kvHeads) * headDim, cols: hidden, format: 'f16' } as WeightMatrix;
  return decodeAttentionFits(runtime.gpu, qkv, 1, { headDim, group: heads / kvHeads, startPos }, runtime.gpu.tuning.gemv);
};

const kernelsMatching = (shape: StepShape, re: RegExp) => shape.kernels.filter((k) => re.test(k.kernel)).reduce((s, k) => s + k.perStep, 0);

describe('kernelProfile: dispatches per decode step', () => {
  it('greedy decode on tiny-dense at a short context: 4 per layer on CPU adapters (attention in the q/k/v dispatch), else 5 (one-pass attention) + 3, with CPU encode and readback-wait times', async () => {
    const runtime = await profiled();
    const layers = runtime.config.layers;
    // the context fits one attention tile: one pass, run by the q/k/v gemv's workgroups where the adapter allows
    const inQkv = attentionInQkv(runtime, 0);
    const perLayer = PER_LAYER - (inQkv ? 2 : 1);
    // a one-token prompt has no prefill: every step is a decode step
    await runtime.generate({ prompt: [5], maxTokens: 6, stopAtEos: false, strategy: { kind: 'greedy' } }, () => undefined);
    const profile = runtime.kernelProfile();
    expect(profile.layers).toBe(layers);
    expect(profile.steps).toHaveLength(1);
    const [decode] = profile.steps;
    expect(decode.steps).toBe(6);
    expect(decode.dispatches).toBe(perLayer * layers + OUTSIDE_GREEDY);
    expect(decode.perLayer).toBe(perLayer);
    expect(decode.outsideLayers).toBe(OUTSIDE_GREEDY);
    expect(kernelsMatching(decode, /rmsnorm/i)).toBe(0); // every RMSNorm runs in a gemv prologue
    // the LM-head gemv stores greedy partials and one pass picks the token: no logits over the vocabulary
    expect(kernelsMatching(decode, /ARGMAX=1/)).toBe(1);
    expect(kernelsMatching(decode, /argmax_partials/)).toBe(1);
    expect(kernelsMatching(decode, /misc\/argmax\{/)).toBe(0);
    expect(kernelsMatching(decode, /qkv_decode/)).toBe(inQkv ? layers : 0);
    expect(decode.encodeMs).toBeGreaterThan(0);
    expect(decode.readbackWaitMs).toBeGreaterThanOrEqual(0);
    if (profile.timestamps) {
      expect(decode.gpuMs).toBeGreaterThan(0);
      // one shape: its kernels' mean GPU time per step is the run's per-kernel total over the steps
      const perStep = decode.kernels.reduce((s, k) => s + k.gpuMs!, 0);
      const total = profile.kernels.reduce((s, k) => s + k.ms!, 0);
      expect(perStep).toBeCloseTo(total / decode.steps, 6);
    } else expect(decode.gpuMs).toBeNull();
    // the per-kernel view counts the same dispatches
    expect(profile.kernels.reduce((s, k) => s + k.count, 0)).toBe(6 * decode.dispatches);
    runtime.dispose();
  });

  it('sampled decode past the first attention tile: 4 per layer on CPU adapters (partials and their merge in the q/k/v dispatch), else 6, + 4 (distribution, then the draw)', async () => {
    const runtime = await profiled();
    const layers = runtime.config.layers;
    const prompt = Array.from({ length: SPLIT_K_TILE[splitKKernel(runtime.gpu, runtime.config.headDim)] + 8 }, (_, i) => 3 + i);
    await runtime.generate({ prompt, maxTokens: 3, stopAtEos: false, strategy: { kind: 'sample', temperature: 0.8, seed: 1 } }, () => undefined);
    const decode = runtime.kernelProfile().steps.find((s) => s.steps === 3)!;
    const inQkv = attentionInQkv(runtime, prompt.length);
    const perLayer = PER_LAYER - (inQkv ? 2 : 0);
    expect(decode.dispatches).toBe(perLayer * layers + OUTSIDE_SAMPLED);
    expect(decode.perLayer).toBe(perLayer);
    expect(kernelsMatching(decode, /qkv_decode/)).toBe(inQkv ? layers : 0);
    runtime.dispose();
  });
});
