import type { KernelCase } from './types';
import type { Gpu } from '../../src/gpu/device';
import type { SplitMatrix, WeightFormat, WeightMatrix } from '../../src/kernels/tensor';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { linear, linearKernel, type GatedActivation } from '../../src/kernels/linear';
import { TUNINGS, type GemvShape } from '../../src/gpu/tuning';
import { dequantize, encodeWeight } from '../../src/kernels/quantize';
import { runStep } from '../helpers/step';

/** A random [rows, cols] weight in `format` on the GPU, and its exact f32 values (the CPU reference's weights). */
export function randomWeight(gpu: Gpu, format: WeightFormat, rows: number, cols: number, seed: number): { w: WeightMatrix; values: Float32Array } {
  const { data, scales } = encodeWeight(format, randomFloats(rows * cols, seed), rows, cols);
  const w: WeightMatrix = {
    format, rows, cols, label: `w-${format}`,
    data: uploadBuffer(gpu, `w-${format}`, data),
    scales: scales && uploadBuffer(gpu, 'scales', scales),
  };
  return { w, values: dequantize(format, data, scales, rows, cols) };
}

/** y[m, n] = Σ_k x[m, k] w[n, k] (+ bias[n]) in f64. */
export function linearReference(x: Float32Array, w: Float32Array, rows: number, out: number, cols: number, bias?: Float32Array): Float32Array {
  const y = new Float32Array(rows * out);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < out; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < cols; k++) s += x[m * cols + k] * w[n * cols + k];
      y[m * out + n] = s;
    }
  }
  return y;
}

// The CPU adapter shape (the register-blocked gemv) takes gemv for any number of rows; the GPU shapes hand more
// than 16 rows to the matmul.
const SHAPES: [string, GemvShape][] = [['blocked', TUNINGS.cpu.gemv], ['wide', TUNINGS.gpu.gemv], ['lanes16', { wg: 64, lanes: 16, maxRows: 16 }]];

function plainCase(format: WeightFormat, rows: number, out: number, cols: number, shape: [string, GemvShape], browser = false): KernelCase {
  const path = linearKernel({ cols, format }, rows, 0, shape[1]) === 'gemv' ? `gemv-${shape[0]}` : 'gemm';
  return {
    name: `${path} ${format} rows=${rows} out=${out} in=${cols}`,
    browser,
    async run(gpu) {
      const { w, values } = randomWeight(gpu, format, out, cols, out * 31 + cols);
      const xv = randomFloats(rows * cols, rows + 7);
      const x = uploadBuffer(gpu, 'x', xv);
      const y = storageBuffer(gpu, 'y', 4 * rows * out);
      await runStep(gpu, (step) => linear(gpu, step, { x, w, y, rows }, shape[1]));
      return { actual: await readF32(gpu, y, rows * out), expected: linearReference(xv, values, rows, out, cols), tolerance: 1e-5 };
    },
  };
}

/**
 * y[yOffset..] += x[xOffset..] · Wᵀ + bias, leaving the rest of y alone. An x offset off the 16-byte grid
 * sends a few rows to the gemm kernel (gemv reads x as vectors); an aligned one keeps them on gemv.
 */
function accumulateCase(format: WeightFormat, rows: number, out: number, cols: number, shape: [string, GemvShape], browser = false, xShift = 1): KernelCase {
  const path = linearKernel({ cols, format }, rows, 3 * cols + xShift, shape[1]) === 'gemv' ? `gemv-${shape[0]}` : 'gemm';
  return {
    name: `${path} ${format} accumulate+bias+offsets rows=${rows} out=${out} in=${cols} x shift ${xShift}`,
    browser,
    async run(gpu) {
      const { w, values } = randomWeight(gpu, format, out, cols, 5);
      const xOffset = 3 * cols + xShift, yOffset = 2 * out + 3;
      const xv = randomFloats(xOffset + rows * cols, 11);
      const y0 = randomFloats(yOffset + rows * out + 5, 12);
      const bv = randomFloats(out, 13);
      const x = uploadBuffer(gpu, 'x', xv), y = uploadBuffer(gpu, 'y', y0), bias = uploadBuffer(gpu, 'bias', bv);
      await runStep(gpu, (step) => linear(gpu, step, { x, w, y, rows, bias, accumulate: true, xOffset, yOffset }, shape[1]));
      const product = linearReference(xv.subarray(xOffset), values, rows, out, cols, bv);
      const expected = y0.slice();
      product.forEach((v, i) => (expected[yOffset + i] += v));
      return { actual: await readF32(gpu, y, y0.length), expected, tolerance: 1e-5 };
    },
  };
}

/** The gated activations in f64: silu, and gelu_pytorch_tanh as transformers writes it. */
export const ACTIVATIONS: Record<GatedActivation, (g: number) => number> = {
  silu: (g) => g / (1 + Math.exp(-g)),
  gelu_pytorch_tanh: (g) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3))),
};

/** y = act(gate) ⊙ (x · Wᵀ): the up projection with the gated MLP's activation fused in; gates up to ±30 cover the saturated tails. */
function gatedCase(format: WeightFormat, rows: number, out: number, cols: number, shape: [string, GemvShape], browser = false, activation: GatedActivation = 'silu'): KernelCase {
  const path = linearKernel({ cols, format }, rows, 0, shape[1]) === 'gemv' ? `gemv-${shape[0]}` : 'gemm';
  return {
    name: `${path} ${format} gated by ${activation} rows=${rows} out=${out} in=${cols}`,
    browser,
    async run(gpu) {
      const { w, values } = randomWeight(gpu, format, out, cols, 17);
      const xv = randomFloats(rows * cols, 18), gv = randomFloats(rows * out, 19, 30);
      const x = uploadBuffer(gpu, 'x', xv), gate = uploadBuffer(gpu, 'gate', gv);
      const y = storageBuffer(gpu, 'y', 4 * rows * out);
      await runStep(gpu, (step) => linear(gpu, step, { x, w, y, rows, gate, activation }, shape[1]));
      const expected = linearReference(xv, values, rows, out, cols).map((v, i) => ACTIVATIONS[activation](gv[i]) * v);
      return { actual: await readF32(gpu, y, rows * out), expected, tolerance: 1e-5 };
    },
  };
}

/** `w`'s values [rows, cols] as a matrix split by rows at `starts` (each piece its own buffers, as the loader splits). */
export function splitWeight(gpu: Gpu, format: WeightFormat, values: Float32Array, rows: number, cols: number, starts: number[]): SplitMatrix {
  const pieces = starts.map((rowStart, i) => {
    const end = starts[i + 1] ?? rows;
    const { data, scales } = encodeWeight(format, values.slice(rowStart * cols, end * cols), end - rowStart, cols);
    const label = `w-${format}[${rowStart}..]`;
    return { rowStart, w: { format, rows: end - rowStart, cols, label, data: uploadBuffer(gpu, label, data), scales: scales && uploadBuffer(gpu, 'scales', scales) } };
  });
  return { format, rows, cols, label: `w-${format}-split`, pieces };
}

/** A weight split by rows (a big vocabulary's LM head over the buffer limit) gives the unsplit weight's bits. */
function splitCase(format: WeightFormat, rows: number, shape: [string, GemvShape], browser = false): KernelCase {
  const out = 45, cols = 64;
  const path = linearKernel({ cols, format }, rows, 0, shape[1]) === 'gemv' ? `gemv-${shape[0]}` : 'gemm';
  return {
    name: `${path} ${format} weight split by rows (0, 16, 44) == unsplit (bitwise) rows=${rows}`,
    browser,
    async run(gpu) {
      const { w, values } = randomWeight(gpu, format, out, cols, 23);
      const split = splitWeight(gpu, format, values, out, cols, [0, 16, 44]);
      const x = uploadBuffer(gpu, 'x', randomFloats(rows * cols, 24));
      const whole = storageBuffer(gpu, 'y-whole', 4 * rows * out);
      const pieces = storageBuffer(gpu, 'y-split', 4 * rows * out);
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: whole, rows }, shape[1]);
        linear(gpu, step, { x, w: split, y: pieces, rows }, shape[1]);
      });
      return { actual: await readF32(gpu, pieces, rows * out), expected: await readF32(gpu, whole, rows * out), tolerance: 0 };
    },
  };
}

/**
 * Rows of a gemv batch equal the same rows computed one at a time, bit for bit (speculative verify relies on
 * it): 2 and 5 rows run as one group per invocation, 13 as two overlapping groups of 7 on the GPU shapes (one of
 * 13 on the blocked kernel), 29 as two overlapping groups of 15 on the blocked kernel.
 */
function batchInvarianceCase(format: WeightFormat, shape: [string, GemvShape], rows: number, browser = false): KernelCase {
  const out = 37, cols = 96;
  return {
    name: `gemv-${shape[0]} ${format} batch of ${rows} rows == rows alone (bitwise)`,
    browser,
    async run(gpu) {
      const { w } = randomWeight(gpu, format, out, cols, 21);
      const x = uploadBuffer(gpu, 'x', randomFloats(rows * cols, 22));
      const batched = storageBuffer(gpu, 'y-batch', 4 * rows * out);
      const alone = storageBuffer(gpu, 'y-alone', 4 * rows * out);
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: batched, rows }, shape[1]);
        for (let r = 0; r < rows; r++) linear(gpu, step, { x, w, y: alone, rows: 1, xOffset: r * cols, yOffset: r * out }, shape[1]);
      });
      return { actual: await readF32(gpu, batched, rows * out), expected: await readF32(gpu, alone, rows * out), tolerance: 0 };
    },
  };
}

const SIZES: Record<WeightFormat, [number, number][]> = {
  f32: [[1, 1], [7, 7], [33, 33], [5, 36], [257, 1000], [1000, 257]],
  f16: [[1, 2], [7, 34], [33, 66], [1000, 258]],
  bf16: [[1, 2], [7, 34], [33, 66], [3, 10], [1000, 258]],
  q8: [[1, 32], [7, 64], [33, 96], [1000, 256]],
  q4: [[1, 32], [7, 64], [33, 96], [1000, 256]],
};
const FORMATS = Object.keys(SIZES) as WeightFormat[];

export const linearCases: KernelCase[] = [
  ...FORMATS.flatMap((format) =>
    SIZES[format].flatMap(([out, cols], i) => [
      ...SHAPES.flatMap((shape) => [1, 7].map((rows) => plainCase(format, rows, out, cols, shape, i === 2 && rows === 7))),
      ...[33, 257].flatMap((rows) => SHAPES.slice(0, 2).map((shape) => plainCase(format, rows, out, cols, shape, i === 2 && rows === 33 && shape === SHAPES[0]))),
    ])),
  ...FORMATS.flatMap((format) => [
    ...SHAPES.map((shape) => accumulateCase(format, 3, 33, 64, shape, shape === SHAPES[0])),
    ...SHAPES.map((shape) => accumulateCase(format, 3, 33, 64, shape, false, 4)),
    accumulateCase(format, 40, 33, 64, SHAPES[0], true),
    accumulateCase(format, 40, 33, 64, SHAPES[1], false, 4),
    ...SHAPES.slice(0, 2).flatMap((shape) => [1, 7, 40].map((rows) => gatedCase(format, rows, 33, 64, shape, shape === SHAPES[0] && rows === 7))),
    ...SHAPES.flatMap((shape) => [2, 5, 13].map((rows) => batchInvarianceCase(format, shape, rows, shape === SHAPES[0] && rows !== 2))),
    batchInvarianceCase(format, SHAPES[0], 29),
  ]),
  ...(['bf16', 'f16', 'q8'] as WeightFormat[]).flatMap((format) => SHAPES.slice(0, 2).flatMap((shape) => [1, 7, 40].map((rows) => splitCase(format, rows, shape, format === 'bf16' && rows === 7 && shape === SHAPES[0])))),
  // GeGLU: the epilogue is shared by every kernel and format, so each kernel (blocked and lane gemv, matmul) once
  ...SHAPES.map((shape) => gatedCase('f32', 1, 33, 64, shape, false, 'gelu_pytorch_tanh')),
  ...SHAPES.slice(0, 2).map((shape) => gatedCase('f32', 40, 33, 64, shape, false, 'gelu_pytorch_tanh')),
  gatedCase('f16', 7, 33, 64, SHAPES[0], true, 'gelu_pytorch_tanh'),
];
