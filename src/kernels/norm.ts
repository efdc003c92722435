import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';

/**
 * Invocations per row reduction: 64 on GPUs; 4 on CPU adapters, one SIMD group of SwiftShader, where a
 * two-level tree beats both a single invocation (2-3x) and wider trees (rmsnorm of 1-64 rows of 256).
 */
export function rowReduceWidth(gpu: Gpu): number {
  return gpu.adapter.isSoftware ? 4 : 64;
}

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
}

/** y = weight * (x / sqrt(mean(x^2) + eps)) per row (Hugging Face RMSNorm, f32). `wg` overrides the reduction width. */
export function rmsNorm(gpu: Gpu, step: Step, a: RmsNormArgs, wg = rowReduceWidth(gpu)): void {
  const k = kernel(gpu, {
    shader: 'misc/rmsnorm',
    buffers: { x: 'read', weight: 'read', y: 'rw' },
    params: { dim: 'u32', x_offset: 'u32', y_offset: 'u32', eps: 'f32' },
    overrides: { WG: wg },
  });
  step.dispatch(k, [a.x, a.weight, a.y], { dim: a.dim, x_offset: a.xOffset ?? 0, y_offset: a.yOffset ?? 0, eps: a.eps }, grid1d(gpu, a.rows));
}
