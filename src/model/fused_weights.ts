import type { Gpu } from '../gpu/device';
import { isGgmlFormat, type WeightMatrix } from '../kernels/tensor';
import type { LayerWeights, ModelWeights } from './weights';

/**
 * Stacks projections that read the same input into one matrix, so one gemv computes them all:
 * - q, k and v: [q + 2·kv rows, hidden], rows of q, then k, then v (their biases likewise); linear's split
 *   outputs write each part to its own buffer.
 * - gate and up (`gateUp`): [2·intermediate, hidden] with the rows interleaved, gate_j at row 2j and up_j at
 *   2j + 1, so the invocation computing one computes both and stores act(gate)·up (linear's gateUp). Left apart
 *   where the activation-sparse MLP reads them one by one.
 * The stacked matrices are freed; weights.buffers and weights.bytes follow. A layer keeps its matrices apart when
 * they differ in format or width, are GGUF blocks (rows of those need not end on 4-byte boundaries), are only
 * partly biased or would exceed the device's largest binding. The copies are queued on the GPU and submitted layer
 * by layer, each layer's sources freed after its submit, so the transient extra memory is one layer's matrices, not
 * the model's; the bytes kept are those the matrices held, so the memory estimate still holds.
 */
export function fuseProjections(gpu: Gpu, weights: ModelWeights, opts: { gateUp: boolean }): void {
  const stack = new Stacker(gpu);
  for (const [l, layer] of weights.layers.entries()) {
    let fused: LayerWeights = layer;
    const { q, k, v } = layer;
    const biases = [layer.qBias, layer.kBias, layer.vBias];
    if (q && k && v && stack.fits([q, k, v]) && (biases.every(Boolean) || !biases.some(Boolean))) {
      const label = `layers.${l}.qkv`;
      const w: WeightMatrix = {
        format: q.format, rows: q.rows + k.rows + v.rows, cols: q.cols, label,
        data: stack.concat([q.data, k.data, v.data], label),
        scales: q.scales && stack.concat([q.scales, k.scales!, v.scales!], `${label}.scales`),
      };
      const bias = biases.every(Boolean) ? stack.concat(biases as GPUBuffer[], `${label}.bias`) : undefined;
      fused = { ...fused, qkv: { w, bias, widths: [q.rows, k.rows] } };
      for (const key of ['q', 'k', 'v', 'qBias', 'kBias', 'vBias'] as const) delete fused[key];
    }
    const mlp = layer.mlp;
    if (opts.gateUp && mlp?.gate && mlp.up && stack.fits([mlp.gate, mlp.up], 'row') && mlp.gate.rows === mlp.up.rows) {
      const { gate, up } = mlp;
      const label = `layers.${l}.mlp.gateUp`;
      const gateUp: WeightMatrix = {
        format: gate.format, rows: 2 * gate.rows, cols: gate.cols, label,
        data: stack.interleave(gate.data, up.data, gate.rows, label),
        scales: gate.scales && stack.interleave(gate.scales, up.scales!, gate.rows, `${label}.scales`),
      };
      fused = { ...fused, mlp: { gateUp, down: mlp.down } };
    }
    weights.layers[l] = fused;
    stack.submit();
  }
  stack.finish(weights);
}

/** Queues the row copies into stacked buffers; the sources are destroyed once the copies are submitted. */
class Stacker {
  private encoder: GPUCommandEncoder;
  /** sources whose copies are queued, not yet submitted */
  private queued: GPUBuffer[] = [];
  private readonly freed = new Set<GPUBuffer>();
  private readonly made: GPUBuffer[] = [];

  constructor(private readonly gpu: Gpu) {
    this.encoder = gpu.device.createCommandEncoder({ label: 'stack projections' });
  }

  /**
   * Matrices that stack into one binding: the same dense format and width, each buffer (`rows`: each row, for
   * interleave) a whole number of 4-byte words, the copies' granularity.
   */
  fits(ms: WeightMatrix[], unit: 'buffer' | 'row' = 'buffer'): boolean {
    const [first] = ms;
    const rowsAligned = (b: GPUBuffer | undefined, rows: number) => !b || (unit === 'buffer' ? b.size % 4 === 0 : b.size % rows === 0 && (b.size / rows) % 4 === 0);
    const bytes = ms.reduce((n, m) => n + m.data.size, 0);
    return !isGgmlFormat(first.format) && bytes <= this.gpu.device.limits.maxStorageBufferBindingSize
      && ms.every((m) => m.format === first.format && m.cols === first.cols && rowsAligned(m.data, m.rows) && rowsAligned(m.scales, m.rows));
  }

  /** One buffer holding `parts` one after the other. */
  concat(parts: GPUBuffer[], label: string): GPUBuffer {
    const out = this.buffer(parts.reduce((n, b) => n + b.size, 0), label);
    let at = 0;
    for (const b of parts) {
      this.encoder.copyBufferToBuffer(b, 0, out, at, b.size);
      at += b.size;
    }
    this.queued.push(...parts);
    return out;
  }

  /** One buffer of 2·rows rows: row j of `a` at row 2j, row j of `b` at row 2j + 1 (a and b hold `rows` equal rows). */
  interleave(a: GPUBuffer, b: GPUBuffer, rows: number, label: string): GPUBuffer {
    const row = a.size / rows;
    const out = this.buffer(a.size + b.size, label);
    for (let j = 0; j < rows; j++) {
      this.encoder.copyBufferToBuffer(a, j * row, out, 2 * j * row, row);
      this.encoder.copyBufferToBuffer(b, j * row, out, (2 * j + 1) * row, row);
    }
    this.queued.push(a, b);
    return out;
  }

  /** Submits the queued copies and frees their sources. */
  submit(): void {
    if (this.queued.length === 0) return;
    this.gpu.device.queue.submit([this.encoder.finish()]);
    for (const b of this.queued) {
      b.destroy(); // after the submit: the queued copies still read them
      this.freed.add(b);
    }
    this.queued = [];
    this.encoder = this.gpu.device.createCommandEncoder({ label: 'stack projections' });
  }

  /** Lists the new buffers in `weights` in place of the freed ones (every copy submitted). */
  finish(weights: ModelWeights): void {
    this.submit();
    weights.buffers = [...weights.buffers.filter((b) => !this.freed.has(b)), ...this.made];
    weights.bytes = weights.buffers.reduce((n, b) => n + b.size, 0);
  }

  private buffer(size: number, label: string): GPUBuffer {
    const out = this.gpu.device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    this.made.push(out);
    return out;
  }
}
