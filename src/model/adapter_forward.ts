import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { storageBuffer } from '../gpu/buffers';
import { linear } from '../kernels/linear';
import { attention, ropeKvWrite } from '../kernels/attention';
import type { RopeTable } from '../kernels/rope_table';
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
 * its own one-layer KV cache. `record` turns the exit states h in the model's residual buffer into
 * a = h + o(attn(rope(q(n)), rope(k(n)), v(n))), n = norm(h), in place, appending the rows' keys and values (the
 * norm runs in the projections' prologue where it can, as the model's layers do); the draft logits are then the
 * model's head over a with the adapter's final norm (Transformer.head's `norm` option). Its cache follows the
 * model's: truncating the model's cache truncates it too (KvCache.follow), and it is extended only by positions
 * the adapter has seen.
 */
export class AdapterBlock {
  readonly exitLayer: number;
  readonly kv: KvCache;       // [1 layer][kvHeads, maxSeq, headDim]
  private readonly q: GPUBuffer;     // [rows, heads, headDim]
  private readonly k: GPUBuffer;     // [rows, kvHeads, headDim]
  private readonly v: GPUBuffer;     // [rows, kvHeads, headDim]
  private readonly attn: GPUBuffer;  // [rows, heads, headDim]

  constructor(
    private readonly gpu: Gpu,
    readonly weights: AdapterWeights,
    readonly shape: AdapterShape,
    modelKv: KvCache,
    readonly rows: number,
    private readonly rope: AdapterRope | null,
  ) {
    this.exitLayer = shape.exitLayer;
    const { heads, kvHeads, headDim } = shape;
    const f32 = (label: string, elements: number) => storageBuffer(gpu, `adapter.${shape.exitLayer}.${label}`, 4 * elements);
    this.q = f32('q', rows * heads * headDim);
    this.k = f32('k', rows * kvHeads * headDim);
    this.v = f32('v', rows * kvHeads * headDim);
    this.attn = f32('attn', rows * heads * headDim);
    this.kv = new KvCache(gpu, 1, kvHeads, headDim, modelKv.maxSeq);
    modelKv.follow(this.kv);
  }

  /**
   * model.act.x[0..count) (exit states h at positions startPos..) += o(attention(...)), writing the adapter's keys
   * and values at those positions. `seqLen` picks LongRoPE's factors as the model's layers do. `keysOnly`: only the
   * keys and values (feeding positions whose drafts nobody reads: no query, attention or output; x stays h).
   */
  record(step: Step, model: Transformer, count: number, startPos: number, seqLen = startPos + count, keysOnly = false): void {
    if (count < 1 || count > this.rows) throw new RangeError(`an adapter pass holds 1..${this.rows} rows, got ${count}`);
    const { gpu, shape: s, weights: w } = this;
    this.kv.wrote(startPos + count);
    const keys = [{ w: w.k, y: this.k }, { w: w.v, y: this.v }];
    model.normedLinears(step, w.inputNorm, count, keysOnly ? keys : [{ w: w.q, y: this.q }, ...keys]);
    const cache = { ...this.kv.layer(0), kvHeads: s.kvHeads, headDim: s.headDim };
    const table = this.rope && (seqLen > this.rope.longAfter ? this.rope.long : this.rope.short);
    ropeKvWrite(gpu, step, { q: this.q, k: this.k, v: this.v, tokens: count, startPos, heads: s.heads, table, ...cache });
    if (keysOnly) return; // the rotation of q above touched a scratch buffer only
    attention(gpu, step, { q: this.q, out: this.attn, tokens: count, startPos, heads: s.heads, scale: 1 / Math.sqrt(s.headDim), ...cache });
    linear(gpu, step, { x: this.attn, w: w.o, y: model.act.x, rows: count, accumulate: true });
  }

  destroy(): void {
    for (const b of [this.q, this.k, this.v, this.attn]) b.destroy();
    this.kv.destroy();
  }
}

/**
 * Layers [from, to) over x[0..count) at positions startPos.. (Transformer.layers), pausing after each adapter's exit
 * layer in the range to append the rows' keys and values to the adapter's cache, where that cache reaches startPos
 * (a prefill).
 */
export function layersFeedingAdapters(model: Transformer, step: Step, count: number, startPos: number, seqLen: number, from = 0, to = model.config.layers): void {
  let done = from;
  for (const a of [...model.adapters].sort((x, y) => x.exitLayer - y.exitLayer)) {
    if (a.exitLayer <= from || a.exitLayer > to || a.kv.length !== startPos) continue;
    model.layers(step, count, startPos, done, a.exitLayer, seqLen);
    a.record(step, model, count, startPos, seqLen, true);
    a.kv.extend(count);
    done = a.exitLayer;
  }
  model.layers(step, count, startPos, done, to, seqLen);
}
