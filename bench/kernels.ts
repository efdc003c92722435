/**
 * Kernel bandwidth bench: a plain copy kernel's GB/s (bytes read + written / time) against gemv GB/s
 * (weight bytes read / time) per weight format, and what a batch of activation rows costs relative to one row
 * (the price of a speculative verify pass). `benchKernels` takes any Gpu (Node or browser page); `main` runs
 * it on the Node adapter and writes bench/results/kernels.json.
 */
import type { Gpu } from '../src/gpu/device';
import { ParamArena, Step } from '../src/gpu/step';
import { storageBuffer, uploadBuffer } from '../src/gpu/buffers';
import { kernel } from '../src/gpu/kernel';
import { grid1d } from '../src/kernels/grid';
import { linear } from '../src/kernels/linear';
import { GEMV_MAX_ROWS, type GemvShape } from '../src/gpu/tuning';
import { GGML_BLOCKS, isGgmlFormat, type MatrixFormat, type WeightFormat, type WeightMatrix } from '../src/kernels/tensor';

export interface GemvResult {
  format: MatrixFormat;
  rows: number;
  cols: number;
  weightBytes: number;
  ms: number;
  gbps: number;
  /** gemv GB/s over copy GB/s */
  ratio: number;
}

/** f16 linear() over `rows` activation rows: time relative to one row (1 = a batch costs one row, rows = no saving). */
export interface RowScaling {
  rows: number;
  ms: number;
  vsOneRow: number;
}

export interface KernelBench {
  adapter: string;
  isSoftware: boolean;
  iterations: number;
  copy: { bytes: number; ms: number; gbps: number };
  gemvShape: GemvShape;
  gemv: GemvResult[];
  rowScaling: { shape: [number, number]; results: RowScaling[] };
}

/** Our formats, then the GGUF block formats (read in their own layout by shaders/matmul/gemv_gguf.wgsl). */
const FORMATS: MatrixFormat[] = ['f32', 'f16', 'bf16', 'q8', 'q4', ...(Object.keys(GGML_BLOCKS) as MatrixFormat[])];
const DENSE_BYTES: Record<WeightFormat, number> = { f32: 4, f16: 2, bf16: 2, q8: 1, q4: 0.5 };
/** Weight bytes read per weight, scales included. */
const bytesPerWeight = (format: MatrixFormat): number =>
  isGgmlFormat(format) ? GGML_BLOCKS[format].bytes / GGML_BLOCKS[format].elements : DENSE_BYTES[format] + (format === 'q8' || format === 'q4' ? 4 / 32 : 0);
const COPY_WG = 64;

/** Median ms per dispatch of `record`, each run recording `iterations` dispatches into one submitted step. */
async function timeDispatches(gpu: Gpu, arena: ParamArena, iterations: number, runs: number, record: (step: Step) => void): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const step = new Step(gpu, arena);
    for (let i = 0; i < iterations; i++) record(step);
    const t0 = performance.now();
    await step.submit();
    await gpu.device.queue.onSubmittedWorkDone();
    if (r > 0) times.push((performance.now() - t0) / iterations); // run 0 warms pipelines and caches
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Weight storage of the given format filled with arbitrary bits (bandwidth does not depend on the values). */
function benchWeight(gpu: Gpu, format: MatrixFormat, rows: number, cols: number): WeightMatrix {
  const words = Math.ceil((rows * cols * (isGgmlFormat(format) ? bytesPerWeight(format) : DENSE_BYTES[format])) / 4);
  const data = new Uint32Array(words).fill(0x3c003c00); // also a finite f32 / f16 pair / q8 / q4 / GGUF block pattern
  const quantized = format === 'q8' || format === 'q4';
  return {
    format, rows, cols, label: `bench-${format}`,
    data: uploadBuffer(gpu, `bench-${format}`, data),
    scales: quantized ? uploadBuffer(gpu, 'bench-scales', new Float32Array((rows * cols) / 32).fill(0.01)) : undefined,
  };
}

export async function benchKernels(
  gpu: Gpu,
  { iterations = 50, runs = 3, shapes = [[2048, 2048], [4096, 1024]] as [number, number][], copyBytes = 16 << 20, gemv: shape = gpu.tuning.gemv, formats = FORMATS } = {},
): Promise<KernelBench> {
  const arena = new ParamArena(gpu);
  const words = copyBytes / 16;
  const src = storageBuffer(gpu, 'copy-src', copyBytes), dst = storageBuffer(gpu, 'copy-dst', copyBytes);
  const copyKernel = kernel(gpu, { shader: 'misc/copy', overrides: { WG: COPY_WG } });
  const copyMs = await timeDispatches(gpu, arena, iterations, runs, (step) =>
    step.dispatch(copyKernel, [src, dst], { n: words }, grid1d(gpu, Math.ceil(words / COPY_WG))));
  const copyGbps = (2 * copyBytes) / copyMs / 1e6;
  src.destroy();
  dst.destroy();

  const gemv: GemvResult[] = [];
  for (const [rows, cols] of shapes) {
    const x = storageBuffer(gpu, 'x', 4 * cols), y = storageBuffer(gpu, 'y', 4 * rows);
    for (const format of formats) {
      // a matrix over one binding's limit is split at load in a model; here it is left out
      if (rows * cols * bytesPerWeight(format) > gpu.device.limits.maxStorageBufferBindingSize) continue;
      if (isGgmlFormat(format) && cols % GGML_BLOCKS[format].elements !== 0) continue; // rows are whole blocks (K-quants: 256)
      const w = benchWeight(gpu, format, rows, cols);
      const ms = await timeDispatches(gpu, arena, iterations, runs, (step) => linear(gpu, step, { x, w, y, rows: 1 }, shape));
      const weightBytes = rows * cols * bytesPerWeight(format);
      const gbps = weightBytes / ms / 1e6;
      gemv.push({ format, rows, cols, weightBytes, ms, gbps, ratio: gbps / copyGbps });
      w.data.destroy();
      w.scales?.destroy();
    }
  }
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    iterations,
    gemvShape: shape,
    copy: { bytes: 2 * copyBytes, ms: copyMs, gbps: copyGbps },
    gemv,
    rowScaling: await rowScaling(gpu, arena, iterations, runs, shapes[0], shape),
  };
}

async function rowScaling(gpu: Gpu, arena: ParamArena, iterations: number, runs: number, [out, cols]: [number, number], shape: GemvShape): Promise<KernelBench['rowScaling']> {
  const w = benchWeight(gpu, 'f16', out, cols);
  const results: RowScaling[] = [];
  for (const rows of [1, 2, 4, 8, 16]) {
    const x = storageBuffer(gpu, 'x', 4 * rows * cols), y = storageBuffer(gpu, 'y', 4 * rows * out);
    const ms = await timeDispatches(gpu, arena, iterations, runs, (step) => linear(gpu, step, { x, w, y, rows }, shape));
    results.push({ rows, ms, vsOneRow: ms / (results[0]?.ms ?? ms) });
    x.destroy();
    y.destroy();
  }
  w.data.destroy();
  return { shape: [out, cols], results };
}

export function formatKernelBench(b: KernelBench): string {
  const lines = [
    `adapter: ${b.adapter}${b.isSoftware ? ' (software)' : ''}, ${b.iterations} dispatches per submit, median; gemv wg=${b.gemvShape.wg} lanes=${b.gemvShape.lanes}`,
    `copy ${(b.copy.bytes / 2 / (1 << 20)).toFixed(0)} MiB: ${b.copy.ms.toFixed(3)} ms, ${b.copy.gbps.toFixed(2)} GB/s (read+write)`,
    'gemv       shape        ms     GB/s  gemv/copy',
    ...b.gemv.map((g) =>
      `${g.format.padEnd(5)} ${`${g.rows}x${g.cols}`.padStart(12)} ${g.ms.toFixed(3).padStart(9)} ${g.gbps.toFixed(2).padStart(8)} ${g.ratio.toFixed(2).padStart(10)}`),
    `f16 ${b.rowScaling.shape.join('x')} activation rows -> time / one row: ${b.rowScaling.results.map((r) => `${r.rows}: ${r.vsOneRow.toFixed(2)}`).join(', ')}`,
  ];
  return lines.join('\n');
}

export async function main(args: string[]): Promise<number> {
  const { nodeGpu } = await import('../src/node/gpu');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const iterations = Number(args.find((a) => a.startsWith('--iterations='))?.split('=')[1] ?? 50);
  const only = args.find((a) => a.startsWith('--formats='))?.split('=')[1]?.split(',') as MatrixFormat[] | undefined; // e.g. --formats=q4_k,q8_0
  const shapeArg = args.find((a) => a.startsWith('--gemv='))?.split('=')[1]; // e.g. --gemv=64x4 (wg x lanes)
  const [wg, lanes] = (shapeArg ?? '').split('x').map(Number);
  const gemv = shapeArg ? { wg, lanes, maxRows: lanes === 1 ? Infinity : GEMV_MAX_ROWS } : undefined;
  const result = await benchKernels(await nodeGpu(), { iterations, ...(gemv && { gemv }), ...(only && { formats: only }) });
  console.log(formatKernelBench(result));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/kernels.json', JSON.stringify(result, null, 2) + '\n');
  return 0;
}
