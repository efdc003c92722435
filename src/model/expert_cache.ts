import type { Gpu } from '../gpu/device';
import { Step, type Grid, type ParamArena } from '../gpu/step';
import type { Kernel } from '../kernels/kernel';
import { readBuffer, readU32, storageBuffer } from '../gpu/buffers';
import { NO_SLOT, type ExpertSet } from '../kernels/moe';
import type { WeightMatrix } from '../kernels/tensor';
import { formatBytes } from './weight_plan';
import { isMoeLayer, type ModelConfig } from './config';
import type { ModelWeights } from './weights';

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

/** One expert matrix kept in CPU memory, with a GPU slot matrix holding `slots` experts' rows. */
interface Tier {
  data: Uint8Array<ArrayBuffer>; // all experts' weight bytes, expert-major
  scales?: Uint8Array<ArrayBuffer>; // q8/q4 scales bytes, expert-major
  dataBytes: number; // per expert
  scaleBytes: number; // per expert
  gpu: WeightMatrix; // [slots * rowsPerExpert, cols]
}

interface LayerCache {
  gate: Tier;
  up: Tier;
  down: Tier;
  set: ExpertSet; // slots table = the round's experts -> slot
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
  uploadBytes: number;
}

/**
 * Expert memory budget: each MoE layer keeps at most `maxResident` experts on the GPU, in one slot buffer
 * per projection; all experts stay in CPU memory. For each pass the chosen experts are read back at a step
 * barrier; a resident expert is a hit, a missing one is uploaded there and then (a miss). With `prefetch`,
 * layer l+1's router applied to layer l's input predicts l+1's experts, which are uploaded at layer l's
 * barrier, ahead of need. The kernels read the same weights either way: outputs equal the unbudgeted run.
 */
export class ExpertCache {
  readonly stats: ExpertCacheStats = { hits: 0, misses: 0, uploadBytes: 0 };
  private readonly layers: (LayerCache | undefined)[];
  private clock = 0;

  private constructor(private readonly gpu: Gpu, readonly maxResident: number, readonly prefetch: boolean, layers: (LayerCache | undefined)[]) {
    this.layers = layers;
  }

  /** Moves every MoE layer's experts to CPU memory (the stacked GPU matrices are destroyed). */
  static async create(gpu: Gpu, config: ModelConfig, weights: ModelWeights, maxResident: number, prefetch = true): Promise<ExpertCache> {
    const moe = config.moe;
    if (!moe) throw new Error('maxResidentExperts applies to mixture-of-experts models only');
    if (!Number.isInteger(maxResident) || maxResident < moe.expertsPerToken) {
      throw new RangeError(`maxResidentExperts must be an integer >= experts per token (${moe.expertsPerToken}), got ${maxResident}`);
    }
    const slots = Math.min(maxResident, moe.experts);
    const layers: (LayerCache | undefined)[] = [];
    for (let l = 0; l < config.layers; l++) {
      const w = weights.layers[l].moe;
      if (!isMoeLayer(config, l) || !w) {
        layers.push(undefined);
        continue;
      }
      const tier = (m: WeightMatrix) => offload(gpu, m, moe.experts, slots);
      const [gate, up, down] = [await tier(w.gate), await tier(w.up), await tier(w.down)];
      const set: ExpertSet = {
        gate: gate.gpu, up: up.gpu, down: down.gpu, intermediate: moe.expertIntermediate, hidden: config.hidden,
        slots: storageBuffer(gpu, `experts.${l}.slots`, 4 * moe.experts),
      };
      layers.push({ gate, up, down, set, slotOf: new Map(), lastUse: new Array(slots).fill(-1) });
    }
    return new ExpertCache(gpu, slots, prefetch, layers);
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
    for (const e of ranked) if (!layer.slotOf.has(e)) this.upload(layer, e, stamp);
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
    for (const t of [layer.gate, layer.up, layer.down]) {
      queue.writeBuffer(t.gpu.data, victim * t.dataBytes, t.data, e * t.dataBytes, t.dataBytes);
      if (t.scales && t.gpu.scales) queue.writeBuffer(t.gpu.scales, victim * t.scaleBytes, t.scales, e * t.scaleBytes, t.scaleBytes);
      this.stats.uploadBytes += t.dataBytes + t.scaleBytes;
    }
    layer.slotOf.set(e, victim);
    layer.lastUse[victim] = stamp;
  }

  destroy(): void {
    for (const layer of this.layers) {
      if (!layer) continue;
      for (const m of [layer.gate.gpu, layer.up.gpu, layer.down.gpu]) {
        m.data.destroy();
        m.scales?.destroy();
      }
      layer.set.slots.destroy();
    }
  }
}

/** Copy a stacked expert matrix to CPU memory, destroy it, and allocate its `slots`-expert GPU slot matrix. */
async function offload(gpu: Gpu, m: WeightMatrix, experts: number, slots: number): Promise<Tier> {
  const rowsPerExpert = m.rows / experts;
  const perExpert = formatBytes(m.format, rowsPerExpert, m.cols);
  const data = new Uint8Array(await readBuffer(gpu, m.data, perExpert.data * experts));
  const scales = m.scales && perExpert.scales ? new Uint8Array(await readBuffer(gpu, m.scales, perExpert.scales * experts)) : undefined;
  m.data.destroy();
  m.scales?.destroy();
  const slotMatrix: WeightMatrix = {
    format: m.format, rows: slots * rowsPerExpert, cols: m.cols, label: `${m.label}.slots`,
    data: storageBuffer(gpu, `${m.label}.slots`, perExpert.data * slots),
    scales: scales && storageBuffer(gpu, `${m.label}.slots.scales`, (perExpert.scales ?? 0) * slots),
  };
  return { data, scales, dataBytes: perExpert.data, scaleBytes: perExpert.scales ?? 0, gpu: slotMatrix };
}

