import type { Gpu } from '../gpu/device';
import { storageBuffer } from '../gpu/buffers';

/** Bytes of the f32 keys and values of `layers` layers for `maxSeq` positions. */
export function kvCacheBytes(layers: number, kvHeads: number, headDim: number, maxSeq: number): number {
  return 2 * layers * 4 * kvHeads * maxSeq * headDim;
}

/**
 * Per-layer key/value cache on the GPU, preallocated to the context length.
 * Layout per layer: [kvHeads, maxSeq, headDim] f32. `length` is the number of valid positions;
 * rollback after rejected drafts just lowers it: stale slots are masked by the attention bound
 * and overwritten later, so nothing is copied.
 */
export class KvCache {
  readonly keys: GPUBuffer[];
  readonly values: GPUBuffer[];
  length = 0;

  constructor(gpu: Gpu, readonly layers: number, readonly kvHeads: number, readonly headDim: number, readonly maxSeq: number) {
    const bytes = 4 * kvHeads * maxSeq * headDim;
    this.keys = Array.from({ length: layers }, (_, l) => storageBuffer(gpu, `kv.keys.${l}`, bytes));
    this.values = Array.from({ length: layers }, (_, l) => storageBuffer(gpu, `kv.values.${l}`, bytes));
  }

  get bytes(): number {
    return kvCacheBytes(this.layers, this.kvHeads, this.headDim, this.maxSeq);
  }

  /** Keep only the first `length` positions (rollback). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new RangeError(`cannot truncate KV cache of length ${this.length} to ${length}`);
    this.length = length;
  }

  destroy(): void {
    for (const b of [...this.keys, ...this.values]) b.destroy();
  }
}
