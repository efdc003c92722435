import type { KernelCase } from './types';
import type { WeightFormat } from '../../src/kernels/tensor';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { linear } from '../../src/kernels/linear';
import { TUNINGS, type GemvShape } from '../../src/gpu/tuning';
import { rmsNorm } from '../../src/kernels/norm';
import { runStep } from '../helpers/step';
import { linearReference, randomWeight } from './linear';
import { rmsNormReference } from './norm';

// The gemv shapes of CPU adapters (register-blocked) and GPUs (lanes), each with the RMSNorm width of its adapter.
const SHAPES: [string, GemvShape, number][] = [
  ['blocked', TUNINGS.cpu.gemv, TUNINGS.cpu.rowReduce],
  ['wide', TUNINGS.gpu.gemv, TUNINGS.gpu.rowReduce],
  ['lanes16', { wg: 64, lanes: 16, maxRows: 16 }, 64],
];
const EPS = 1e-5;

/** x rows at an offset with a spread of magnitudes (row r scaled by 1 + 3r), so each row's norm matters. */
function rowsOfX(rows: number, cols: number, xOffset: number): Float32Array {
  const xv = randomFloats(xOffset + rows * cols, rows * 13 + cols);
  for (let r = 0; r < rows; r++) for (let i = 0; i < cols; i++) xv[xOffset + r * cols + i] *= 1 + 3 * r;
  return xv;
}

/** y (+)= norm(x) · Wᵀ + bias with the norm in the gemv's prologue, against the CPU reference (f64). */
function normCase(format: WeightFormat, rows: number, out: number, cols: number, [label, shape, wg]: (typeof SHAPES)[number], weightOffset: number, browser = false): KernelCase {
  return {
    name: `gemv-${label} ${format} RMSNorm prologue${weightOffset ? ' (1 + w)' : ''} + bias, accumulate rows=${rows} out=${out} in=${cols}`,
    browser,
    async run(gpu) {
      const { w, values } = randomWeight(gpu, format, out, cols, out + cols);
      const xOffset = 2 * cols + 4;
      const xv = rowsOfX(rows, cols, xOffset), nv = randomFloats(cols, cols + 3), bv = randomFloats(out, 9), y0 = randomFloats(rows * out, 10);
      const x = uploadBuffer(gpu, 'x', xv), y = uploadBuffer(gpu, 'y', y0), bias = uploadBuffer(gpu, 'bias', bv);
      const norm = { weight: uploadBuffer(gpu, 'norm', nv), eps: EPS, weightOffset, wg };
      await runStep(gpu, (step) => linear(gpu, step, { x, xOffset, w, y, rows, bias, accumulate: true, norm }, shape));
      const normed = rmsNormReference(xv.subarray(xOffset), nv, rows, cols, EPS, weightOffset);
      const expected = linearReference(normed, values, rows, out, cols, bv).map((v, i) => v + y0[i]);
      return { actual: await readF32(gpu, y, rows * out), expected, tolerance: 2e-5 };
    },
  };
}

/**
 * The fused norm gives the bits of rmsNorm() then linear() (so the fused and unfused forward paths agree exactly),
 * and a batch's rows the bits of each row alone (speculative verify): 13 rows run as two overlapping groups of 7.
 */
function bitwiseCase(format: WeightFormat, rows: number, [label, shape, wg]: (typeof SHAPES)[number], weightOffset: number, browser = false): KernelCase {
  const out = 37, cols = 96;
  return {
    name: `gemv-${label} ${format} RMSNorm prologue == rmsNorm then gemv, and batch of ${rows} == rows alone (bitwise)`,
    browser,
    async run(gpu) {
      const { w } = randomWeight(gpu, format, out, cols, 21);
      const xv = rowsOfX(rows, cols, 0);
      const x = uploadBuffer(gpu, 'x', xv), normWeight = uploadBuffer(gpu, 'norm', randomFloats(cols, 5));
      const h = storageBuffer(gpu, 'h', 4 * rows * cols);
      const [fused, alone, unfused] = ['fused', 'alone', 'unfused'].map((n) => storageBuffer(gpu, n, 4 * rows * out));
      const norm = { weight: normWeight, eps: EPS, weightOffset, wg };
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: fused, rows, norm }, shape);
        for (let r = 0; r < rows; r++) linear(gpu, step, { x, w, y: alone, rows: 1, xOffset: r * cols, yOffset: r * out, norm }, shape);
        rmsNorm(gpu, step, { x, weight: normWeight, y: h, rows, dim: cols, eps: EPS, weightOffset }, wg);
        linear(gpu, step, { x: h, w, y: unfused, rows }, shape);
      });
      const [a, b, c] = await Promise.all([fused, alone, unfused].map((buf) => readF32(gpu, buf, rows * out)));
      return { actual: [...a, ...b], expected: [...c, ...c], tolerance: 0 };
    },
  };
}

/**
 * q, k and v from one stacked matrix: columns [0, a) into y, [a, a + b) into y2, the rest into y3, each part
 * row-major on its own, with the bias of the stacked rows; through the norm prologue on gemv, plain on the matmul
 * (more rows than a GPU's gemv takes).
 */
function splitCase(format: WeightFormat, rows: number, [label, shape, wg]: (typeof SHAPES)[number], browser = false): KernelCase {
  const a = 24, b = 8, c = 8, cols = 64, out = a + b + c;
  const norm = rows <= shape.maxRows;
  return {
    name: `${norm ? `gemv-${label} RMSNorm prologue,` : 'gemm'} ${format} split outputs ${a}/${b}/${c} + bias rows=${rows}`,
    browser,
    async run(gpu) {
      const { w, values } = randomWeight(gpu, format, out, cols, 31);
      const xv = rowsOfX(rows, cols, 0), nv = randomFloats(cols, 32), bv = randomFloats(out, 33);
      const x = uploadBuffer(gpu, 'x', xv), bias = uploadBuffer(gpu, 'bias', bv);
      const parts = [a, b, c].map((width, i) => storageBuffer(gpu, `part${i}`, 4 * rows * width));
      const split = { widths: [a, b] as [number, number], y2: parts[1], y3: parts[2] };
      const normArg = norm ? { norm: { weight: uploadBuffer(gpu, 'norm', nv), eps: EPS, weightOffset: 0, wg } } : {};
      await runStep(gpu, (step) => linear(gpu, step, { x, w, y: parts[0], rows, bias, split, ...normArg }, shape));
      const input = norm ? rmsNormReference(xv, nv, rows, cols, EPS) : xv;
      const whole = linearReference(input, values, rows, out, cols, bv);
      const expected = [[0, a], [a, b], [a + b, c]].flatMap(([from, width]) => Array.from({ length: rows * width }, (_, i) => whole[Math.floor(i / width) * out + from + (i % width)]));
      const actual = (await Promise.all(parts.map((p, i) => readF32(gpu, p, rows * [a, b, c][i])))).flatMap((p) => [...p]);
      return { actual, expected, tolerance: 2e-5 };
    },
  };
}

const SIZES: Record<WeightFormat, [number, number][]> = {
  f32: [[33, 40], [5, 264]],
  f16: [[37, 264]],
  bf16: [[9, 72]],
  q8: [[33, 96]],
  q4: [[7, 64]],
};

// lanes16 (a narrower GPU shape) runs f32 only: its prologue is the wide kernel's
export const linearNormCases: KernelCase[] = [
  ...(Object.entries(SIZES) as [WeightFormat, [number, number][]][]).flatMap(([format, sizes]) =>
    sizes.flatMap(([out, cols], i) => SHAPES.filter((_, s) => s < 2 || format === 'f32').flatMap((shape, s) =>
      [1, 5].map((rows) => normCase(format, rows, out, cols, shape, i === 0 && rows === 5 ? 1 : 0, i === 0 && s === 0 && rows === 5))))),
  ...(['f32', 'f16', 'q8'] as WeightFormat[]).flatMap((format) => SHAPES.filter((_, s) => s === 0 || format !== 'q8').flatMap((shape, s) =>
    [1, 13].map((rows) => bitwiseCase(format, rows, shape, format === 'f16' ? 1 : 0, s === 0 && rows === 13)))),
  ...(['f32', 'f16', 'q4'] as WeightFormat[]).flatMap((format) => SHAPES.slice(0, 2).flatMap((shape, s) => [1, 6, 40].map((rows) => splitCase(format, rows, shape, s === 0 && rows === 6)))),
];
