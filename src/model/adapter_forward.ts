import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { storageBuffer } from '../gpu/buffers';
import { linear } from '../kernels/linear';
import { rmsNorm } from '../kernels/norm';
import { attention, ropeKvWrite } from '../kernels/attention';
import type { RopeTable } from '../kernels/rope_table';
import type { ModelConfig } from './config';
import type { AdapterShape } from './adapter';
import type { AdapterWeights } from './weights';
import { KvCache } from './kv_cache';
import type { Transformer } from './forward';

/** The rotation an adapter applies: the exit layer's tables (short, and long past `longAfter` for LongRoPE), null for NoPE. */
export interface AdapterRope {
  short: RopeTable;
  long: RopeTable;
  longAfter: number;
}

/**
 * One Kangaroo adapter on the GPU (model/adapter.ts): an attention-only block after exit layer `exitLayer`, with
 * its own one-layer KV cache. `record` turns exit states h into a = h + o(attn(rope(q(n)), rope(k(n)), v(n))),
 * n = norm(h), in place, appending the rows' keys and values; the draft logits are then the model's head over a
 * with the adapter's final norm (Transformer.head's `norm` option). Its cache follows the model's: truncating the
 * model's cache truncates it too (KvCache.follow), and it is extended only by positions the adapter has seen.
 */
export class AdapterBlock {
  readonly exitLayer: number;
  readonly kv: KvCache;       // [1 layer][kvHeads, maxSeq, headDim]
  /** Exit states of positions the caller feeds out of place (prefill): [rows, hidden] */
  readonly x: GPUBuffer;
  private readonly n: GPUBuffer;     // [rows, hidden]          norm(h)
  private readonly q: GPUBuffer;     // [rows, heads, headDim]
  private readonly k: GPUBuffer;     // [rows, kvHeads, headDim]
  private readonly v: GPUBuffer;     // [rows, kvHeads, headDim]
  private readonly attn: GPUBuffer;  // [rows, heads, headDim]

  constructor(
    private readonly gpu: Gpu,
    private readonly config: ModelConfig,
    readonly weights: AdapterWeights,
    readonly shape: AdapterShape,
    modelKv: KvCache,
    readonly rows: number,
    private readonly rope: AdapterRope | null,
  ) {
    this.exitLayer = shape.exitLayer;
    const { heads, kvHeads, headDim } = shape;
    const f32 = (label: string, elements: number) => storageBuffer(gpu, `adapter.${shape.exitLayer}.${label}`, 4 * elements);
    this.x = f32('x', rows * config.hidden);
    this.n = f32('n', rows * config.hidden);
    this.q = f32('q', rows * heads * headDim);
    this.k = f32('k', rows * kvHeads * headDim);
    this.v = f32('v', rows * kvHeads * headDim);
    this.attn = f32('attn', rows * heads * headDim);
    this.kv = new KvCache(gpu, 1, kvHeads, headDim, modelKv.maxSeq);
    modelKv.follow(this.kv);
  }

  /**
   * x[0..count) (exit states h at positions startPos..) += o(attention(...)), writing the adapter's keys and values
   * at those positions. `seqLen` picks LongRoPE's factors as the model's layers do.
   */
  record(step: Step, h: GPUBuffer, count: number, startPos: number, seqLen = startPos + count): void {
    if (count < 1 || count > this.rows) throw new RangeError(`an adapter pass holds 1..${this.rows} rows, got ${count}`);
    const { gpu, config: c, shape: s, weights: w } = this;
    this.kv.wrote(startPos + count);
    rmsNorm(gpu, step, { x: h, weight: w.inputNorm, y: this.n, rows: count, dim: c.hidden, eps: c.rmsEps, weightOffset: c.normOffset });
    linear(gpu, step, { x: this.n, w: w.q, y: this.q, rows: count });
    linear(gpu, step, { x: this.n, w: w.k, y: this.k, rows: count });
    linear(gpu, step, { x: this.n, w: w.v, y: this.v, rows: count });
    const cache = { ...this.kv.layer(0), kvHeads: s.kvHeads, headDim: s.headDim };
    const table = this.rope && (seqLen > this.rope.longAfter ? this.rope.long : this.rope.short);
    ropeKvWrite(gpu, step, { q: this.q, k: this.k, v: this.v, tokens: count, startPos, heads: s.heads, table, ...cache });
    attention(gpu, step, { q: this.q, out: this.attn, tokens: count, startPos, heads: s.heads, scale: 1 / Math.sqrt(s.headDim), ...cache });
    linear(gpu, step, { x: this.attn, w: w.o, y: h, rows: count, accumulate: true });
  }

  destroy(): void {
    for (const b of [this.x, this.n, this.q, this.k, this.v, this.attn]) b.destroy();
    this.kv.destroy();
  }
}

/**
 * Layers [from, to) over x[0..count) at positions startPos.. (Transformer.layers), pausing after each adapter's exit
 * layer in the range to feed the adapter a copy of the rows' exit states, where the adapter's cache reaches startPos
 * (a prefill).
 */
export function layersFeedingAdapters(model: Transformer, step: Step, count: number, startPos: number, seqLen: number, from = 0, to = model.config.layers): void {
  let done = from;
  for (const a of [...model.adapters].sort((x, y) => x.exitLayer - y.exitLayer)) {
    if (a.exitLayer <= from || a.exitLayer > to || a.kv.length !== startPos) continue;
    model.layers(step, count, startPos, done, a.exitLayer, seqLen);
    step.copy(model.act.x, 0, a.x, 0, 4 * count * model.config.hidden);
    a.record(step, a.x, count, startPos, seqLen);
    a.kv.extend(count);
    done = a.exitLayer;
  }
  model.layers(step, count, startPos, done, to, seqLen);
}
