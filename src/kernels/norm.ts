import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';

export interface RmsNormArgs {
  /** [rows, dim] f32 */
  x: GPUBuffer;
  /** [dim] f32 */
  weight: GPUBuffer;
  /** [rows, dim] f32; must not be `x` */
  y: GPUBuffer;
  rows: number;
  dim: number;
  eps: number;
  /** element offsets into x / y */
  xOffset?: number;
  yOffset?: number;
  /** 1 for Gemma's RMSNorm, y = (1 + weight) * ... in f32; default 0 */
  weightOffset?: number;
  /** y += norm(x) instead of y = norm(x) (Gemma's post-attention / post-MLP norms into the residual) */
  accumulate?: boolean;
}

/**
 * y = weight * (x / sqrt(mean(x^2) + eps)) per row (Hugging Face RMSNorm, f32), or (weightOffset + weight) * ...;
 * `accumulate` adds into y. `wg` overrides the reduction width.
 */
export function rmsNorm(gpu: Gpu, step: Step, a: RmsNormArgs, wg = gpu.tuning.rowReduce): void {
  const k = kernel(gpu, { shader: 'misc/rmsnorm', overrides: { WG: wg, WEIGHT_OFFSET: a.weightOffset ?? 0, ACCUMULATE: a.accumulate ? 1 : 0 } });
  step.dispatch(k, [a.x, a.weight, a.y], { dim: a.dim, x_offset: a.xOffset ?? 0, y_offset: a.yOffset ?? 0, eps: a.eps }, grid1d(gpu, a.rows));
}

export interface HeadRmsNormArgs {
  q: GPUBuffer;       // [tokens, heads, headDim], normalised in place
  k: GPUBuffer;       // [tokens, kvHeads, headDim], normalised in place
  qWeight: GPUBuffer; // [headDim] q_norm.weight
  kWeight: GPUBuffer; // [headDim] k_norm.weight
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  /** 1 for Gemma 3's q/k norms ((1 + w)·x̂); default 0 (Qwen3) */
  weightOffset?: number;
}

/**
 * Per-head q_norm / k_norm in place (before RoPE), one dispatch for both: each head vector is normalised with the
 * bits rmsNorm would give it as a row of [tokens * heads, headDim]. `wg` overrides the reduction width.
 */
export function headRmsNorm(gpu: Gpu, step: Step, a: HeadRmsNormArgs, wg = gpu.tuning.rowReduce): void {
  const k = kernel(gpu, { shader: 'misc/head_rmsnorm', overrides: { WG: wg, WEIGHT_OFFSET: a.weightOffset ?? 0 } });
  const qRows = a.tokens * a.heads, rows = qRows + a.tokens * a.kvHeads;
  step.dispatch(k, [a.qWeight, a.kWeight, a.q, a.k], { qRows, rows, headDim: a.headDim, eps: a.eps }, grid1d(gpu, rows));
}
