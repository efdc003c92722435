import type { KernelCase } from './types';
import type { Gpu } from '../../src/gpu/device';
import type { WeightFormat } from '../../src/kernels/tensor';
import { randomFloats } from '../helpers/reference';
import { readF32, readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { bsrMatmul, liveListBytes, sparseChunks, sparseUpAct, spmvActive, uploadBsr } from '../../src/kernels/sparse';
import { linearReference, randomWeight } from './linear';
import type { GemvShape } from '../../src/gpu/tuning';
import { runStep } from '../helpers/step';

const silu = (v: number) => v / (1 + Math.exp(-v));

/** One token through the activation-sparse MLP kernels (up rows, then transposed down rows). */
async function sparseMlp(gpu: Gpu, format: WeightFormat, neurons: number, hidden: number, threshold: number, shape?: GemvShape, chunk?: number) {
  const up = randomWeight(gpu, format, neurons, hidden, 61);
  const downT = randomWeight(gpu, format, neurons, hidden, 62);
  const hv = randomFloats(hidden, 63);
  // every 7th gate exactly 0: silu = 0, listed at no threshold (such a neuron adds nothing)
  const gv = randomFloats(neurons, 64, 3).map((g, i) => (i % 7 === 0 ? 0 : g));
  const yv = randomFloats(hidden, 65);
  const h = uploadBuffer(gpu, 'h', hv), gate = uploadBuffer(gpu, 'gate', gv), y = uploadBuffer(gpu, 'y', yv);
  const liveList = storageBuffer(gpu, 'live', liveListBytes(neurons));
  const partial = storageBuffer(gpu, 'partial', 4 * sparseChunks(neurons) * hidden);
  await runStep(gpu, (step) => {
    sparseUpAct(gpu, step, { x: h, gate, up: up.w, live: liveList, threshold }, shape);
    spmvActive(gpu, step, { live: liveList, partial, downT: downT.w, y, accumulate: true }, chunk);
  });
  const expected = Float64Array.from(yv);
  let live = 0;
  for (let i = 0; i < neurons; i++) {
    const a = silu(gv[i]);
    if (!(Math.abs(a) > Math.max(threshold, 0))) continue;
    live++;
    let u = 0;
    for (let c = 0; c < hidden; c++) u += up.values[i * hidden + c] * hv[c];
    for (let c = 0; c < hidden; c++) expected[c] += a * u * downT.values[i * hidden + c];
  }
  return { y: await readF32(gpu, y, hidden), expected, live, liveCount: (await readU32(gpu, liveList, 1))[0] };
}

function thresholdZeroCase(format: WeightFormat, browser = false): KernelCase {
  return {
    name: `sparse MLP ${format}: threshold 0 == every neuron (bitwise)`,
    browser,
    async run(gpu) {
      const sparse = await sparseMlp(gpu, format, 288, 64, 0);
      const dense = await sparseMlp(gpu, format, 288, 64, -1);
      return { actual: sparse.y, expected: dense.y, tolerance: 0 };
    },
  };
}

function thresholdCase(format: WeightFormat, threshold: number, shape?: GemvShape, chunk?: number): KernelCase {
  return {
    name: `sparse MLP ${format}${shape ? ` wg=${shape.wg} lanes=${shape.lanes}` : ''}${chunk ? ` chunk=${chunk}` : ''}: threshold ${threshold} == masked dense reference`,
    async run(gpu) {
      const r = await sparseMlp(gpu, format, 288, 64, threshold, shape, chunk);
      return { actual: [...r.y, r.liveCount], expected: [...r.expected, r.live], tolerance: 1e-5 };
    },
  };
}

/** A pruned weight (about half its blocks zero) in BSR form times x equals the dense product. */
function bsrCase(rows: number, out: number, cols: number, block: number, density: number, browser = false): KernelCase {
  return {
    name: `bsr x dense rows=${rows} out=${out} in=${cols} block=${block} density=${density}`,
    browser,
    async run(gpu) {
      const wv = randomFloats(out * cols, 71);
      const keep = randomFloats((out / block) * (cols / block), 72).map((v) => (v * 0.5 + 0.5 < density ? 1 : 0));
      for (let n = 0; n < out; n++) for (let k = 0; k < cols; k++) if (!keep[Math.floor(n / block) * (cols / block) + Math.floor(k / block)]) wv[n * cols + k] = 0;
      const xv = randomFloats(rows * cols, 73), y0 = randomFloats(rows * out, 74);
      const w = uploadBsr(gpu, wv, out, cols, block);
      const x = uploadBuffer(gpu, 'x', xv), y = uploadBuffer(gpu, 'y', y0);
      await runStep(gpu, (step) => bsrMatmul(gpu, step, { x, w, y, rows, accumulate: true }));
      const expected = linearReference(xv, wv, rows, out, cols).map((v, i) => v + y0[i]);
      return { actual: await readF32(gpu, y, rows * out), expected, tolerance: 1e-5 };
    },
  };
}

const FORMATS: WeightFormat[] = ['f32', 'f16', 'bf16', 'q8', 'q4'];

export const sparseCases: KernelCase[] = [
  ...FORMATS.map((f) => thresholdZeroCase(f, f === 'f16')),
  ...FORMATS.flatMap((f) => [0.2, 1].map((t) => thresholdCase(f, t))),
  ...FORMATS.flatMap((f) => [64, 256].map((chunk) => thresholdCase(f, 0.05, undefined, chunk))),
  ...(['f32', 'q8'] as WeightFormat[]).flatMap((f) => [{ wg: 256, lanes: 64, maxRows: 16 }, { wg: 64, lanes: 16, maxRows: 16 }].map((shape) => thresholdCase(f, 0.2, shape))),
  bsrCase(1, 64, 96, 16, 0.5, true),
  bsrCase(7, 64, 96, 4, 0.5),
  bsrCase(33, 128, 64, 8, 0.3),
  bsrCase(3, 32, 32, 16, 1),
];
