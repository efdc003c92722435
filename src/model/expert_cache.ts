import type { Gpu } from '../gpu/device';
import { Step, type Grid, type ParamArena } from '../gpu/step';
import type { Kernel } from '../gpu/kernel';
import { readU32, storageBuffer } from '../gpu/buffers';
import { InvalidRequestError } from '../contract/errors';
import { NO_SLOT, type ExpertSet } from '../kernels/moe';
import type { ModelConfig } from './config';
import type { ModelWeights, OffloadedExperts } from './weights';

/** The last submitted BarrierStep of each arena, settled or not. */
const pending = new WeakMap<ParamArena, Promise<unknown>>();

type Recorded = ((into: Step) => void) | { barrier: () => Promise<void> };

/**
 * A Step whose work may pause at barriers: commands are recorded as usual and replayed at submit() into
 * consecutive real steps; at each barrier the work so far is submitted and awaited, then the barrier's
 * callback runs (it may read buffers and upload data) before the rest is recorded. Reads come back in
 * call order as with Step. Used when experts stream from CPU memory: the chosen ids must reach the CPU.
 */
export class BarrierStep extends Step {
  private readonly recorded: Recorded[] = [];
  private count = 0;

  override dispatch(k: Kernel, buffers: GPUBuffer[], params: Record<string, number>, grid: Grid): void {
    this.recorded.push((into) => into.dispatch(k, buffers, params, grid));
    this.count++;
  }

  override copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.recorded.push((into) => into.copy(src, srcOffset, dst, dstOffset, size));
  }

  override read(src: GPUBuffer, offset: number, size: number): void {
    this.recorded.push((into) => into.read(src, offset, size));
  }

  /** Run `callback` once everything recorded so far has executed, before anything recorded after. */
  barrier(callback: () => Promise<void>): void {
    this.recorded.push({ barrier: callback });
  }

  /**
   * Replays after the previous BarrierStep on this arena has finished: callers may submit step i+1 before
   * awaiting step i (pipelined decoding), and the steps share activations and the param arena.
   */
  override submit(): Promise<ArrayBuffer[]> {
    const done = (pending.get(this.arena) ?? Promise.resolve()).then(() => this.replay());
    pending.set(this.arena, done.catch(() => undefined));
    return done;
  }

  private async replay(): Promise<ArrayBuffer[]> {
    const reads: ArrayBuffer[] = [];
    let step = new Step(this.gpu, this.arena, this.profiler);
    for (const r of this.recorded) {
      if (typeof r === 'function') {
        r(step);
        continue;
      }
      reads.push(...(await step.submit()));
      await r.barrier();
      step = new Step(this.gpu, this.arena, this.profiler);
    }
    reads.push(...(await step.submit()));
    return reads;
  }

  override get dispatches(): number {
    return this.count;
  }
}

interface LayerCache {
  host: OffloadedExperts; // every expert in CPU memory
  set: ExpertSet; // the GPU slot matrices [slots * rowsPerExpert, cols]; slots table = the round's experts -> slot
  slotOf: Map<number, number>; // resident expert -> slot
  lastUse: number[]; // per slot, for LRU eviction
}

/** Where a layer's routing lives on the GPU. */
export interface RoutingBuffers {
  count: number; // tokens
  k: number; // experts per token
  ids: GPUBuffer; // [count, k] u32 chosen experts
  predicted?: GPUBuffer; // [count, k] u32 next layer's predicted experts
}

export interface ExpertCacheStats {
  hits: number;
  misses: number;
  /** experts uploaded ahead of need, on the next layer's predicted routing */
  prefetches: number;
  /** bytes copied from CPU memory to the GPU slots, on misses and prefetches */
  uploadBytes: number;
}

/**
 * GPU slots per MoE layer for `maxResidentExperts`, checked before any weight is read: undefined without a
 * budget, or when the budget holds every expert (nothing would ever stream).
 */
export function residentExperts(config: ModelConfig, maxResidentExperts: number | undefined): number | undefined {
  if (maxResidentExperts === undefined) return undefined;
  const field = 'maxResidentExperts';
  const moe = config.moe;
  if (!moe) throw new InvalidRequestError(`${field} applies to mixture-of-experts models; ${config.hfArchitecture} is dense`, { field });
  if (!Number.isInteger(maxResidentExperts) || maxResidentExperts < moe.expertsPerToken) {
    throw new InvalidRequestError(`${field} must be an integer >= experts per token (${moe.expertsPerToken}), got ${maxResidentExperts}`, { field, value: maxResidentExperts });
  }
  return maxResidentExperts < moe.experts ? maxResidentExperts : undefined;
}

/**
 * Expert memory budget: the loader gave each MoE layer `maxResident` expert slots on the GPU (one slot
 * matrix per projection, holding experts 0..maxResident-1 at first) and kept all experts in CPU memory
 * (weights.layers[l].moe.offloaded). For each pass the chosen experts are read back at a step barrier; a
 * resident expert is a hit, a missing one is uploaded there and then (a miss). With `prefetch`, layer
 * l+1's router applied to layer l's input predicts l+1's experts, which are uploaded at layer l's barrier,
 * ahead of need. The kernels read the same weights either way: outputs equal the unbudgeted run.
 */
export class ExpertCache {
  readonly stats: ExpertCacheStats = { hits: 0, misses: 0, prefetches: 0, uploadBytes: 0 };
  private readonly layers: (LayerCache | undefined)[];
  private clock = 0;

  private constructor(private readonly gpu: Gpu, readonly maxResident: number, readonly prefetch: boolean, layers: (LayerCache | undefined)[]) {
    this.layers = layers;
  }

  /** A cache over the offloaded experts of `weights` (loaded with residentExperts); undefined when none are. */
  static create(gpu: Gpu, config: ModelConfig, weights: ModelWeights, prefetch = true): ExpertCache | undefined {
    const moe = config.moe;
    let slots = 0;
    const layers = weights.layers.map((w, l): LayerCache | undefined => {
      const host = w.moe?.offloaded;
      if (!host || !moe) return undefined;
      slots = host.resident;
      const set: ExpertSet = {
        gate: w.moe!.gate, up: w.moe!.up, down: w.moe!.down, intermediate: moe.expertIntermediate, hidden: config.hidden,
        slots: storageBuffer(gpu, `experts.${l}.slots`, 4 * moe.experts),
      };
      const slotOf = new Map(Array.from({ length: host.resident }, (_, e) => [e, e] as const)); // as loaded
      return { host, set, slotOf, lastUse: new Array<number>(host.resident).fill(-1) };
    });
    return slots > 0 ? new ExpertCache(gpu, slots, prefetch, layers) : undefined;
  }

  /**
   * Record layer l's routed experts in rounds of at most `maxResident` experts. Before each round a barrier
   * makes the round's experts resident and binds them in the slots table; pairs routed to other experts
   * are skipped in that round. The first barrier reads the chosen ids (and the predicted ids of layer l+1,
   * which it prefetches).
   */
  record(step: Step, l: number, r: RoutingBuffers, run: (experts: ExpertSet) => void): void {
    if (!(step instanceof BarrierStep)) throw new Error('an expert memory budget needs steps that can pause (BarrierStep)');
    const layer = this.layers[l];
    if (!layer) throw new Error(`layer ${l} has no offloaded experts`);
    const experts = layer.set.slots.size / 4;
    const rounds = Math.ceil(Math.min(experts, r.count * r.k) / this.maxResident);
    let needed: number[] = [];
    for (let round = 0; round < rounds; round++) {
      step.barrier(async () => {
        if (round === 0) {
          needed = [...new Set(await readU32(this.gpu, r.ids, r.count * r.k))].sort((a, b) => a - b);
          if (r.predicted) this.prefetchLayer(l + 1, await readU32(this.gpu, r.predicted, r.count * r.k));
        }
        this.bind(layer, needed.slice(round * this.maxResident, (round + 1) * this.maxResident));
      });
      run(layer.set);
    }
  }

  /** Make `round` resident (counting hits and misses) and bind exactly those experts in the slots table. */
  private bind(layer: LayerCache, round: number[]): void {
    const stamp = ++this.clock;
    for (const e of round) {
      const slot = layer.slotOf.get(e);
      if (slot === undefined) continue;
      layer.lastUse[slot] = stamp;
      this.stats.hits++;
    }
    for (const e of round) {
      if (layer.slotOf.has(e)) continue;
      this.stats.misses++;
      this.upload(layer, e, stamp);
    }
    const table = new Uint32Array(layer.set.slots.size / 4).fill(NO_SLOT);
    for (const e of round) table[e] = layer.slotOf.get(e)!;
    this.gpu.device.queue.writeBuffer(layer.set.slots, 0, table);
  }

  /** Upload the experts layer l is predicted to use (most frequent first), ahead of its barrier. */
  private prefetchLayer(l: number, predicted: Uint32Array): void {
    const layer = this.layers[l];
    if (!layer) return;
    const frequency = new Map<number, number>();
    for (const e of predicted) frequency.set(e, (frequency.get(e) ?? 0) + 1);
    const ranked = [...frequency.keys()].sort((a, b) => frequency.get(b)! - frequency.get(a)! || a - b).slice(0, this.maxResident);
    const stamp = ++this.clock;
    for (const e of ranked) {
      const slot = layer.slotOf.get(e);
      if (slot !== undefined) layer.lastUse[slot] = stamp;
    }
    for (const e of ranked) {
      if (layer.slotOf.has(e)) continue;
      this.stats.prefetches++;
      this.upload(layer, e, stamp);
    }
  }

  /** Copy expert e into the least recently used slot not used at `stamp`. */
  private upload(layer: LayerCache, e: number, stamp: number): void {
    let victim = -1;
    layer.lastUse.forEach((used, slot) => {
      if (used < stamp && (victim < 0 || used < layer.lastUse[victim])) victim = slot;
    });
    if (victim < 0) throw new Error(`expert cache: no free slot among ${this.maxResident}`);
    for (const [expert, slot] of layer.slotOf) if (slot === victim) layer.slotOf.delete(expert);
    const queue = this.gpu.device.queue;
    for (const p of ['gate', 'up', 'down'] as const) {
      const [host, slots] = [layer.host[p], layer.set[p]];
      queue.writeBuffer(slots.data, victim * host.dataBytes, host.data, e * host.dataBytes, host.dataBytes);
      if (host.scales && slots.scales) queue.writeBuffer(slots.scales, victim * host.scaleBytes, host.scales, e * host.scaleBytes, host.scaleBytes);
      this.stats.uploadBytes += host.dataBytes + host.scaleBytes;
    }
    layer.slotOf.set(e, victim);
    layer.lastUse[victim] = stamp;
  }

  /** Frees the slots tables (the slot matrices are weights: destroyWeights frees them). */
  destroy(): void {
    for (const layer of this.layers) layer?.set.slots.destroy();
  }
}
