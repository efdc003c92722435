import type { Gpu } from './device';
import { Kernel, PARAM_SLOT_BYTES, releaseBindGroups } from './kernel';
import { Profiler } from './profile';

export type Grid = [number, number?, number?];

/**
 * Records one step of GPU work (a decode step, a prefill chunk, a verify pass) into a single
 * command encoder and submits it once. Kernel params go to 256-byte slots of a uniform arena,
 * bound with dynamic offsets, so bind groups are reused across steps.
 */
export class ParamArena {
  readonly buffer: GPUBuffer;
  readonly slots: number;
  constructor(private readonly gpu: Gpu, slots = 4096) {
    this.slots = slots;
    this.buffer = gpu.device.createBuffer({
      label: 'param-arena',
      size: slots * PARAM_SLOT_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Releases the arena's buffer and the cached bind groups built on it. */
  destroy(): void {
    releaseBindGroups(this.gpu, this.buffer);
    this.buffer.destroy();
  }
}

export class Step {
  private readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly words: ArrayBuffer;
  private readonly view: DataView;
  private used = 0;
  private readbacks: { src: GPUBuffer; offset: number; size: number; dst: GPUBuffer }[] = [];
  /** while profiling: the kernel key of each dispatch, and the CPU milliseconds spent recording them */
  private readonly kernels: string[] = [];
  private encodeMs = 0;

  constructor(readonly gpu: Gpu, readonly arena: ParamArena, readonly profiler?: Profiler) {
    this.encoder = gpu.device.createCommandEncoder({ label: 'step' });
    this.words = new ArrayBuffer(arena.slots * PARAM_SLOT_BYTES);
    this.view = new DataView(this.words);
  }

  /** Record one dispatch. `grid` is in workgroups. */
  dispatch(k: Kernel, buffers: GPUBuffer[], params: Record<string, number>, grid: Grid): void {
    const [x, y = 1, z = 1] = grid;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > max || y > max || z > max) throw new Error(`${k.key}: grid ${grid} exceeds ${max} workgroups per dimension`);
    if (this.used >= this.arena.slots) throw new Error(`step exceeds ${this.arena.slots} dispatches; split it`);
    const t0 = this.profiler ? performance.now() : 0;
    const slot = this.used++;
    k.encodeParams(params, this.view, slot * PARAM_SLOT_BYTES);
    // with timestamp queries each dispatch gets a pass of its own, to be timed alone
    const timed = this.profiler?.timestamps ?? false;
    const pass = timed ? this.profiledPass(k.key) : this.sharedPass();
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, k.bindGroup(this.arena.buffer, buffers), [slot * PARAM_SLOT_BYTES]);
    pass.dispatchWorkgroups(x, y, z);
    if (timed) this.endPass();
    if (this.profiler) {
      this.kernels.push(k.key);
      this.encodeMs += performance.now() - t0;
    }
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Schedule a read of `size` bytes of `src`; the bytes come back from `submit()` in call order. */
  read(src: GPUBuffer, offset: number, size: number): void {
    this.endPass();
    const dst = this.gpu.device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.encoder.copyBufferToBuffer(src, offset, dst, 0, size);
    this.readbacks.push({ src, offset, size, dst });
  }

  /** Submit everything recorded; resolves with the scheduled reads once the GPU is done. */
  async submit(): Promise<ArrayBuffer[]> {
    const t0 = performance.now();
    this.endPass();
    const times = this.profiler?.resolve(this.encoder);
    if (this.used > 0) this.gpu.device.queue.writeBuffer(this.arena.buffer, 0, this.words, 0, this.used * PARAM_SLOT_BYTES);
    this.gpu.device.queue.submit([this.encoder.finish()]);
    const t1 = performance.now();
    const out = await Promise.all(this.readbacks.map(async ({ dst }) => {
      await dst.mapAsync(GPUMapMode.READ);
      const bytes = dst.getMappedRange().slice(0);
      dst.destroy();
      return bytes;
    }));
    if (this.profiler) {
      const readbackWaitMs = performance.now() - t1;
      const gpuNs = times && (await this.profiler.collect(times));
      this.profiler.record({ kernels: this.kernels, encodeMs: this.encodeMs + t1 - t0, readbackWaitMs, gpuNs });
    }
    return out;
  }

  /** Drop a step that will never be submitted (its readback buffers are released). */
  discard(): void {
    this.endPass();
    for (const { dst } of this.readbacks) dst.destroy();
    this.readbacks = [];
  }

  get dispatches(): number {
    return this.used;
  }

  private sharedPass(): GPUComputePassEncoder {
    return (this.pass ??= this.encoder.beginComputePass({ label: 'step' }));
  }

  private profiledPass(label: string): GPUComputePassEncoder {
    this.endPass();
    this.pass = this.encoder.beginComputePass({ label, timestampWrites: this.profiler!.next() });
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}

/** Fresh steps sharing one parameter arena (and profiler, when timing). */
export function stepFactory(gpu: Gpu, arena: ParamArena, profiler?: Profiler): () => Step {
  return () => new Step(gpu, arena, profiler);
}

/**
 * Submits steps while keeping about `queuedMs` of GPU work queued (at least one step), the time a step takes read
 * from their completions: a caller that checks something between submits waits at most about that long for the
 * GPU, and a fast GPU still has plenty queued.
 */
export class PacedSubmits {
  private readonly queued: Promise<unknown>[] = [];
  private perStepMs = Infinity;
  private lastDone = performance.now();

  constructor(private readonly gpu: Gpu, private readonly queuedMs: number) {}

  async submit(step: Step): Promise<void> {
    this.queued.push(step.submit().then(() => this.gpu.device.queue.onSubmittedWorkDone()));
    while (this.queued.length > Math.max(1, Math.floor(this.queuedMs / this.perStepMs))) {
      await this.queued.shift();
      const now = performance.now();
      this.perStepMs = now - this.lastDone;
      this.lastDone = now;
    }
  }

  /** Resolves once everything submitted has run. */
  async drain(): Promise<void> {
    await Promise.all(this.queued);
  }
}
