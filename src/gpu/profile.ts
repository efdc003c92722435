import type { Gpu } from './device';

/** Per-kernel GPU time from timestamp queries: one pass per dispatch while profiling is on. */
export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly capacity: number;
  private labels: string[] = [];
  /** accumulated nanoseconds per kernel key */
  readonly totals = new Map<string, { ns: number; count: number }>();

  constructor(private readonly gpu: Gpu, capacity = 2048) {
    if (!gpu.hasTimestamps) throw new Error('timestamp-query is not supported by this adapter');
    this.capacity = capacity;
    this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.resolveBuffer = gpu.device.createBuffer({ size: 16 * capacity, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }

  next(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) return undefined;
    const i = this.labels.push(label) - 1;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  private pending: GPUBuffer | null = null;
  private pendingLabels: string[] = [];

  resolve(encoder: GPUCommandEncoder): void {
    const n = this.labels.length;
    if (n === 0) return;
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    const read = this.gpu.device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, read, 0, 16 * n);
    this.pending = read;
    this.pendingLabels = this.labels;
    this.labels = [];
  }

  async collect(): Promise<void> {
    const read = this.pending;
    if (!read) return;
    this.pending = null;
    await read.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(read.getMappedRange());
    this.pendingLabels.forEach((label, i) => {
      const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
      const t = this.totals.get(label) ?? { ns: 0, count: 0 };
      t.ns += Math.max(0, ns);
      t.count++;
      this.totals.set(label, t);
    });
    read.destroy();
  }

  /** Per-kernel milliseconds, largest first. */
  report(): { kernel: string; ms: number; count: number }[] {
    return [...this.totals].map(([kernel, t]) => ({ kernel, ms: t.ns / 1e6, count: t.count })).sort((a, b) => b.ms - a.ms);
  }
}
