import type { Gpu } from '../gpu/device';
import { storageBuffer } from '../gpu/buffers';
import type { ModelConfig } from './config';

/**
 * Every activation buffer of the forward pass, allocated once for `rows` tokens per pass
 * (a prefill chunk, a verify block, or one decode token) and reused across steps.
 */
export class Activations {
  readonly x: GPUBuffer;        // [rows, hidden]            residual stream
  readonly h: GPUBuffer;        // [rows, hidden]            normed input of a sub-block
  readonly q: GPUBuffer;        // [rows, heads, headDim]
  readonly k: GPUBuffer;        // [rows, kvHeads, headDim]
  readonly v: GPUBuffer;        // [rows, kvHeads, headDim]
  readonly attn: GPUBuffer;     // [rows, heads, headDim]    attention output before o_proj
  readonly gate: GPUBuffer;     // [rows, mlpWidth]
  readonly act: GPUBuffer;      // [rows, mlpWidth]          silu(gate) * up(h)
  readonly logits: GPUBuffer;   // [rows, vocab]
  readonly probs: GPUBuffer;    // [rows, vocab]             sampling distributions
  readonly ids: GPUBuffer;      // [rows] u32                input token ids of the pass
  readonly tokens: GPUBuffer;   // [tokenCapacity] u32       tokens chosen on the GPU, read back a few bytes at a time

  constructor(gpu: Gpu, config: ModelConfig, readonly rows: number, readonly tokenCapacity = 4096) {
    const f32 = (label: string, elements: number) => storageBuffer(gpu, `act.${label}`, 4 * elements);
    const qWidth = config.heads * config.headDim;
    const kvWidth = config.kvHeads * config.headDim;
    const mlpWidth = mlpBufferWidth(config);
    this.x = f32('x', rows * config.hidden);
    this.h = f32('h', rows * config.hidden);
    this.q = f32('q', rows * qWidth);
    this.k = f32('k', rows * kvWidth);
    this.v = f32('v', rows * kvWidth);
    this.attn = f32('attn', rows * qWidth);
    this.gate = f32('gate', rows * mlpWidth);
    this.act = f32('act', rows * mlpWidth);
    this.logits = f32('logits', rows * config.vocab);
    this.probs = f32('probs', rows * config.vocab);
    this.ids = f32('ids', rows);
    this.tokens = f32('tokens', tokenCapacity);
  }

  destroy(): void {
    for (const b of Object.values(this)) if (b && typeof b === 'object' && 'destroy' in b) (b as GPUBuffer).destroy();
  }
}

/** Widest MLP intermediate any layer needs (dense, shared expert, or one expert). */
export function mlpBufferWidth(config: ModelConfig): number {
  const moe = config.moe;
  return Math.max(config.intermediate, moe?.expertIntermediate ?? 0, moe?.sharedExpertIntermediate ?? 0);
}
