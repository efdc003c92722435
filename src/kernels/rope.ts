import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { uploadBuffer } from '../gpu/buffers';
import { kernel } from '../gpu/kernel';

const WG = 64;

/** Hugging Face `rope_scaling` (rope_type 'linear' or 'llama3'). */
export interface RopeScaling {
  type: 'linear' | 'llama3';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

/**
 * inv_freq as Hugging Face computes it in float32: 1 / theta^(arange(0, d, 2) / d), then the scaling rule
 * (`_compute_linear_scaling_rope_parameters`, `_compute_llama3_parameters`), rounding every step to f32.
 */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScaling): Float32Array {
  const f = Math.fround;
  const inv = new Float32Array(headDim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = f(1 / f(Math.pow(theta, f(f(2 * i) / headDim))));
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((v) => f(v / scaling.factor));
  const { factor, lowFreqFactor = 1, highFreqFactor = 4, originalMaxPositions = 8192 } = scaling;
  const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
  const highFreqWavelen = originalMaxPositions / highFreqFactor;
  return inv.map((v) => {
    const wavelen = f(f(2 * Math.PI) / v);
    if (wavelen < highFreqWavelen) return v;
    if (wavelen > lowFreqWavelen) return f(v / factor);
    const smooth = f(f(f(originalMaxPositions / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
    return f(f(f(f(1 - smooth) * v) / factor) + f(smooth * v));
  });
}

const invFreqBuffers = new WeakMap<Gpu, Map<string, GPUBuffer>>();

/** The inv_freq table for a rotation, uploaded once per GPU. */
export function invFreqBuffer(gpu: Gpu, headDim: number, theta: number, scaling?: RopeScaling): GPUBuffer {
  let cache = invFreqBuffers.get(gpu);
  if (!cache) invFreqBuffers.set(gpu, (cache = new Map()));
  const key = JSON.stringify([headDim, theta, scaling ?? null]);
  let buffer = cache.get(key);
  if (!buffer) cache.set(key, (buffer = uploadBuffer(gpu, `rope-inv-freq ${key}`, ropeInvFreq(headDim, theta, scaling))));
  return buffer;
}

/** Rotate x [tokens, heads, headDim] in place; token t sits at position startPos + t. */
export function rope(
  gpu: Gpu,
  step: Step,
  a: { x: GPUBuffer; tokens: number; heads: number; headDim: number; startPos: number; theta: number; scaling?: RopeScaling },
): void {
  if (a.headDim % 2 !== 0) throw new Error(`rope: headDim ${a.headDim} is odd`);
  const k = kernel(gpu, {
    shader: 'misc/rope',
    buffers: { invFreq: 'read', x: 'rw' },
    params: { tokens: 'u32', heads: 'u32', headDim: 'u32', startPos: 'u32' },
    overrides: { WG },
  });
  const invFreq = invFreqBuffer(gpu, a.headDim, a.theta, a.scaling);
  step.dispatch(k, [invFreq, a.x], { tokens: a.tokens, heads: a.heads, headDim: a.headDim, startPos: a.startPos }, [Math.ceil(a.headDim / 2 / WG), a.tokens, a.heads]);
}
