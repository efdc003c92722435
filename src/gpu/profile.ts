import type { KernelProfile, KernelTime, StepShape } from '../contract/types';
import type { Gpu } from './device';

/** Steps a profile covers: the most recent ones. */
const RECORDED_STEPS = 4096;

/** One submitted step as the Step saw it. */
export interface StepRecord {
  /** kernel key of each dispatch, in order */
  kernels: string[];
  encodeMs: number;
  readbackWaitMs: number;
  /** GPU nanoseconds per dispatch (same order), when timed */
  gpuNs?: number[];
}

/** Timestamp writes of one step's passes, resolved into a buffer that `collect` reads once the step is done. */
export interface PendingTimes {
  read: GPUBuffer;
  passes: number;
}

/**
 * Profiling while `profile: true`: every step's dispatches, CPU encode time and readback wait, and with timestamp
 * queries the GPU time of each dispatch (one pass per dispatch while timing, which itself costs some speed).
 */
export class Profiler {
  private readonly querySet?: GPUQuerySet;
  private readonly resolveBuffer?: GPUBuffer;
  private passes = 0;
  private records: StepRecord[] = [];

  constructor(private readonly gpu: Gpu, readonly layers: number, private readonly capacity = 2048) {
    if (!gpu.hasTimestamps) return;
    this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.resolveBuffer = gpu.device.createBuffer({ size: 16 * capacity, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  get timestamps(): boolean {
    return this.querySet !== undefined;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }

  /** Timestamp writes for the next pass of the step being recorded (undefined without timestamps, or past capacity). */
  next(): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet || this.passes >= this.capacity) return undefined;
    const i = this.passes++;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Resolve the timestamps written since the last resolve into a buffer of their own. */
  resolve(encoder: GPUCommandEncoder): PendingTimes | undefined {
    const n = this.passes;
    this.passes = 0;
    if (!this.querySet || !this.resolveBuffer || n === 0) return undefined;
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    const read = this.gpu.device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, read, 0, 16 * n);
    return { read, passes: n };
  }

  /** GPU nanoseconds of each pass of a submitted step. */
  async collect(pending: PendingTimes): Promise<number[]> {
    await pending.read.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(pending.read.getMappedRange());
    const ns = Array.from({ length: pending.passes }, (_, i) => Math.max(0, Number(stamps[2 * i + 1] - stamps[2 * i])));
    pending.read.destroy();
    return ns;
  }

  /** Keeps the last RECORDED_STEPS steps (a long session's profile stays bounded). */
  record(step: StepRecord): void {
    this.records.push(step);
    if (this.records.length > 2 * RECORDED_STEPS) this.records = this.records.slice(-RECORDED_STEPS);
  }

  report(): KernelProfile {
    if (this.records.length > RECORDED_STEPS) this.records = this.records.slice(-RECORDED_STEPS);
    return { timestamps: this.timestamps, layers: this.layers, kernels: kernelTimes(this.records), steps: stepShapes(this.records, this.layers) };
  }
}

function kernelTimes(records: StepRecord[]): KernelTime[] {
  const totals = new Map<string, { ns: number | null; count: number }>();
  for (const r of records) {
    r.kernels.forEach((kernel, i) => {
      const t = totals.get(kernel) ?? { ns: r.gpuNs ? 0 : null, count: 0 };
      t.count++;
      if (t.ns !== null && r.gpuNs) t.ns += r.gpuNs[i] ?? 0;
      totals.set(kernel, t);
    });
  }
  const out = [...totals].map(([kernel, t]) => ({ kernel, ms: t.ns === null ? null : t.ns / 1e6, count: t.count }));
  return out.sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0) || b.count - a.count);
}

/**
 * Groups the records by shape. A kernel's dispatches split into layers as ⌊count / layers⌋ per layer and the rest
 * outside: exact while a kernel runs fewer than `layers` times outside the layers (the final norm, the LM head).
 */
function stepShapes(records: StepRecord[], layers: number): StepShape[] {
  const groups = new Map<string, { counts: Map<string, number>; members: StepRecord[] }>();
  for (const r of records) {
    const counts = new Map<string, number>();
    for (const k of r.kernels) counts.set(k, (counts.get(k) ?? 0) + 1);
    const key = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}×${n}`).join('|');
    const g = groups.get(key) ?? { counts, members: [] };
    g.members.push(r);
    groups.set(key, g);
  }
  const shapes = [...groups.values()].map(({ counts, members }) => {
    const timed = members.filter((m) => m.gpuNs);
    const kernels = [...counts].map(([kernel, perStep]) => {
      const perLayer = Math.floor(perStep / layers);
      const ns = timed.reduce((s, m) => s + m.kernels.reduce((t, k, i) => t + (k === kernel ? m.gpuNs![i] ?? 0 : 0), 0), 0);
      return { kernel, perStep, perLayer, outsideLayers: perStep - perLayer * layers, gpuMs: timed.length ? ns / timed.length / 1e6 : null };
    });
    return {
      dispatches: members[0].kernels.length,
      steps: members.length,
      kernels,
      perLayer: kernels.reduce((s, k) => s + k.perLayer, 0),
      outsideLayers: kernels.reduce((s, k) => s + k.outsideLayers, 0),
      encodeMs: median(members.map((m) => m.encodeMs)),
      readbackWaitMs: median(members.map((m) => m.readbackWaitMs)),
      gpuMs: timed.length ? median(timed.map((m) => m.gpuNs!.reduce((s, x) => s + x, 0) / 1e6)) : null,
    };
  });
  return shapes.sort((a, b) => b.steps - a.steps || b.dispatches - a.dispatches);
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
