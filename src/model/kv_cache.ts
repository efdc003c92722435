import type { Gpu } from '../gpu/device';
import { storageBuffer } from '../gpu/buffers';
import { ringSlots } from '../kernels/attention';
import type { ModelConfig } from './config';

/**
 * Cache slots of each layer of `config` for a context of `maxSeq` positions and passes of up to `maxRows` rows:
 * every position, or for a sliding-window layer a ring of ringSlots(window, maxRows) slots when that is fewer.
 */
export function kvSlots(config: ModelConfig, maxSeq: number, maxRows: number): number[] {
  return config.recipe.map(({ attention: { window } }) => (window > 0 ? Math.min(maxSeq, ringSlots(window, maxRows)) : maxSeq));
}

/** Bytes of the f32 keys and values of layers with these slot counts. */
export function kvCacheBytes(kvHeads: number, headDim: number, slots: number[]): number {
  return slots.reduce((n, s) => n + 2 * 4 * kvHeads * s * headDim, 0);
}

/**
 * Per-layer key/value cache on the GPU, preallocated to the context length `maxSeq`.
 * Layout per layer: [kvHeads, slots[l], headDim] f32: slot p for position p, or for a sliding-window layer with
 * fewer slots than maxSeq a ring (slot p % slots[l]; the attention kernels keep it). It owns the number of valid
 * positions: passes write positions from `length` on, then `extend` counts them; rollback after rejected drafts
 * `truncate`s: stale slots are masked by the attention bound and overwritten later, so nothing is copied.
 */
export class KvCache {
  readonly keys: GPUBuffer[];
  readonly values: GPUBuffer[];
  private valid = 0;
  /** One past the highest position any recorded pass wrote since the last clear (a ring's later writes evict earlier positions). */
  private writtenEnd = 0;
  /** Caches of the same sequence that never hold more positions than this one (Kangaroo adapters' caches) */
  private readonly followers: KvCache[] = [];

  /** `slots`: per layer (kvSlots), default maxSeq; `windows`: each layer's sliding window (0: none), which a ring's reads reach back. */
  constructor(
    gpu: Gpu, readonly layers: number, readonly kvHeads: number, readonly headDim: number, readonly maxSeq: number,
    readonly slots: number[] = Array(layers).fill(maxSeq), readonly windows: number[] = Array(layers).fill(0),
  ) {
    const bytes = (l: number) => 4 * kvHeads * slots[l] * headDim;
    this.keys = Array.from({ length: layers }, (_, l) => storageBuffer(gpu, `kv.keys.${l}`, bytes(l)));
    this.values = Array.from({ length: layers }, (_, l) => storageBuffer(gpu, `kv.values.${l}`, bytes(l)));
  }

  /** Layer l's cache as the attention kernels address it. */
  layer(l: number): { kCache: GPUBuffer; vCache: GPUBuffer; maxSeq: number; ring: boolean } {
    return { kCache: this.keys[l], vCache: this.values[l], maxSeq: this.slots[l], ring: this.slots[l] < this.maxSeq };
  }

  /** A pass writes positions up to end - 1. */
  wrote(end: number): void {
    this.writtenEnd = Math.max(this.writtenEnd, end);
  }

  /**
   * Whether a pass at position `from` finds the keys it reads below `from` (from - window + 1 .. from - 1) in every
   * ring, i.e. no later position has overwritten them (full caches keep every position).
   */
  keeps(from: number): boolean {
    return this.slots.every((s, l) => s === this.maxSeq || this.writtenEnd <= Math.max(0, from - this.windows[l] + 1) + s);
  }

  get bytes(): number {
    return kvCacheBytes(this.kvHeads, this.headDim, this.slots);
  }

  /** Valid positions 0..length-1. */
  get length(): number {
    return this.valid;
  }

  /** `cache` keeps at most this cache's positions from now on: rollbacks and clears apply to it too. */
  follow(cache: KvCache): void {
    this.followers.push(cache);
  }

  /** Forget every position (a new sequence). */
  clear(): void {
    this.valid = 0;
    this.writtenEnd = 0;
    for (const f of this.followers) f.clear();
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
    for (const f of this.followers) f.truncate(Math.min(f.length, length));
  }

  destroy(): void {
    for (const b of [...this.keys, ...this.values]) b.destroy();
  }
}
