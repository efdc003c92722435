import type { Gpu } from '../gpu/device';
import { storageBuffer } from '../gpu/buffers';

/** Bytes of the f32 keys and values of `layers` layers for `maxSeq` positions. */
export function kvCacheBytes(layers: number, kvHeads: number, headDim: number, maxSeq: number): number {
  return 2 * layers * 4 * kvHeads * maxSeq * headDim;
}

/**
 * Per-layer key/value cache on the GPU, preallocated to the context length.
 * Layout per layer: [kvHeads, maxSeq, headDim] f32. It owns the number of valid positions: passes write
 * positions from `length` on, then `extend` counts them; rollback after rejected drafts `truncate`s:
 * stale slots are masked by the attention bound and overwritten later, so nothing is copied.
 */
export class KvCache {
  readonly keys: GPUBuffer[];
  readonly values: GPUBuffer[];
  private valid = 0;

  constructor(gpu: Gpu, readonly layers: number, readonly kvHeads: number, readonly headDim: number, readonly maxSeq: number) {
    const bytes = 4 * kvHeads * maxSeq * headDim;
    this.keys = Array.from({ length: layers }, (_, l) => storageBuffer(gpu, `kv.keys.${l}`, bytes));
    this.values = Array.from({ length: layers }, (_, l) => storageBuffer(gpu, `kv.values.${l}`, bytes));
  }

  get bytes(): number {
    return kvCacheBytes(this.layers, this.kvHeads, this.headDim, this.maxSeq);
  }

  /** Valid positions 0..length-1. */
  get length(): number {
    return this.valid;
  }

  /** Forget every position (a new sequence). */
  clear(): void {
    this.valid = 0;
  }

  /** Positions length..length+count-1 have been written. */
  extend(count: number): void {
    if (count < 0 || this.valid + count > this.maxSeq) throw new RangeError(`cannot extend KV cache of length ${this.valid} by ${count} (capacity ${this.maxSeq})`);
    this.valid += count;
  }

  /** Keep only the first `length` positions (rollback). */
  truncate(length: number): void {
    if (length < 0 || length > this.valid) throw new RangeError(`cannot truncate KV cache of length ${this.valid} to ${length}`);
    this.valid = length;
  }

  destroy(): void {
    for (const b of [...this.keys, ...this.values]) b.destroy();
  }
}
