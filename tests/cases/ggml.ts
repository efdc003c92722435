import type { KernelCase } from './types';
import type { Gpu } from '../../src/gpu/device';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { embed } from '../../src/kernels/embed';
import { linear } from '../../src/kernels/linear';
import { GGML_BLOCKS, type GgmlFormat, type WeightMatrix } from '../../src/kernels/tensor';
import { dequantizeGgml, quantizeGgml } from '../../tools/gguf/quants';
import { randomFloats } from '../helpers/reference';
import { runStep } from '../helpers/step';
import { linearReference } from './linear';

/** Quantized random weights by format, shape and seed: each quantized once (both devices' runs, gemv and GEMM cases share them). */
const quantized = new Map<string, { padded: Uint8Array; values: Float32Array }>();

/** A random [rows, cols] weight quantized to `format` on the GPU, and its dequantized values (the reference's weights). */
export function ggmlWeight(gpu: Gpu, format: GgmlFormat, rows: number, cols: number, seed: number): { w: WeightMatrix; values: Float32Array } {
  const key = `${format} ${rows} ${cols} ${seed}`;
  if (!quantized.has(key)) {
    const bytes = quantizeGgml(format, randomFloats(rows * cols, seed), rows, cols);
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    quantized.set(key, { padded, values: dequantizeGgml(format, bytes, rows * cols) });
  }
  const { padded, values } = quantized.get(key)!;
  const w: WeightMatrix = { format, rows, cols, label: `w-${format}`, data: uploadBuffer(gpu, `w-${format}`, new Uint32Array(padded.buffer)) };
  return { w, values };
}

// Awkward sizes: rows of an odd number of 34/18/22/210/110-byte blocks start at 2-byte offsets; outputs not a multiple
// of the 4 per invocation or of the workgroup; row counts that split unevenly into invocations of up to 8.
const SHAPES: [GgmlFormat, number, number, number][] = [
  ['q8_0', 1, 37, 96], ['q8_0', 3, 70, 32], ['q8_0', 13, 5, 160],
  ['q4_k', 1, 37, 256], ['q4_k', 9, 66, 512],
  ['q6_k', 1, 37, 768], ['q6_k', 5, 19, 256],
  ['q4_0', 1, 37, 96], ['q4_0', 9, 20, 64], ['q5_0', 1, 37, 96], ['q5_0', 7, 11, 160],
  ['q4_1', 1, 37, 96], ['q4_1', 6, 3, 32], ['q5_1', 1, 37, 96], ['q5_1', 11, 10, 160],
  ['iq4_nl', 1, 37, 96], ['iq4_nl', 5, 6, 32],
  ['q5_k', 1, 37, 256], ['q5_k', 7, 22, 768],
  ['q2_k', 1, 37, 512], ['q2_k', 9, 5, 256],
  ['q3_k', 1, 37, 768], ['q3_k', 3, 18, 256],
];
const FORMATS = [...new Set(SHAPES.map(([format]) => format))];

const linearCases: KernelCase[] = SHAPES.map(([format, rows, out, cols]) => ({
  name: `gemv ${format} rows=${rows} out=${out} in=${cols}`,
  browser: rows === 1 && format !== 'q8_0',
  async run(gpu) {
    const { w, values } = ggmlWeight(gpu, format, out, cols, out * 7 + cols);
    const xv = randomFloats(rows * cols, rows + 3);
    const y = storageBuffer(gpu, 'y', 4 * rows * out);
    await runStep(gpu, (step) => linear(gpu, step, { x: uploadBuffer(gpu, 'x', xv), w, y, rows }));
    return { actual: await readF32(gpu, y, rows * out), expected: linearReference(xv, values, rows, out, cols), tolerance: 1e-5 };
  },
}));

/** y[yOffset..] = silu(gate) ⊙ (x[xOffset..] · Wᵀ + bias) + y, the rest of y untouched. */
const fusedCases: KernelCase[] = FORMATS.map((format) => ({
  name: `gemv ${format} accumulate+bias+gate+offsets rows=6`,
  async run(gpu) {
    const rows = 6, out = 9, cols = GGML_BLOCKS[format].elements * 2;
    const { w, values } = ggmlWeight(gpu, format, out, cols, 3);
    const xOffset = 4 * cols + 8, yOffset = 2 * out + 3;
    const xv = randomFloats(xOffset + rows * cols, 11);
    const y0 = randomFloats(yOffset + rows * out + 5, 12);
    const gv = randomFloats(y0.length, 14);
    const bv = randomFloats(out, 13);
    const [x, y, bias, gate] = [xv, y0, bv, gv].map((v, i) => uploadBuffer(gpu, `in${i}`, v));
    await runStep(gpu, (step) => linear(gpu, step, { x, w, y, rows, bias, gate, accumulate: true, xOffset, yOffset }));
    const product = linearReference(xv.subarray(xOffset), values, rows, out, cols, bv);
    const expected = y0.slice();
    product.forEach((v, i) => {
      const g = gv[yOffset + i];
      expected[yOffset + i] += (g / (1 + Math.exp(-g))) * v;
    });
    return { actual: await readF32(gpu, y, y0.length), expected, tolerance: 1e-5 };
  },
}));

const EMBED_SHAPES: [GgmlFormat, number, number][] = [
  ['q8_0', 11, 96], ['q4_k', 9, 256], ['q6_k', 7, 512], ['q4_0', 5, 96], ['q5_0', 6, 32],
  ['q4_1', 7, 96], ['q5_1', 5, 64], ['iq4_nl', 9, 96], ['q5_k', 5, 512], ['q2_k', 6, 256], ['q3_k', 7, 768],
];
const embedCases: KernelCase[] = EMBED_SHAPES.map(([format, vocab, hidden]) => ({
  name: `embed ${format} vocab=${vocab} hidden=${hidden}`,
  async run(gpu) {
    const { w: table, values } = ggmlWeight(gpu, format, vocab, hidden, vocab);
    const ids = Uint32Array.from([0, 4, vocab - 1, 0, 3, 1]);
    const idsOffset = 1;
    const count = ids.length - idsOffset;
    const out = storageBuffer(gpu, 'out', 4 * count * hidden);
    await runStep(gpu, (step) => embed(gpu, step, { ids: uploadBuffer(gpu, 'ids', ids), idsOffset, count, table, out }));
    const expected = new Float32Array(count * hidden);
    for (let t = 0; t < count; t++) expected.set(values.subarray(ids[idsOffset + t] * hidden, (ids[idsOffset + t] + 1) * hidden), t * hidden);
    return { actual: await readF32(gpu, out, count * hidden), expected, tolerance: 0 };
  },
}));

/** A round trip per format: the quantizer's error stays within each format's step (catches layout slips). */
const ROUND_TRIP: [GgmlFormat, number][] = [
  ['q8_0', 0.01], ['q4_k', 0.12], ['q6_k', 0.03], ['q4_0', 0.13], ['q5_0', 0.065],
  ['q4_1', 0.07], ['q5_1', 0.035], ['iq4_nl', 0.11], ['q5_k', 0.06], ['q2_k', 0.34], ['q3_k', 0.25],
];
const roundTripCases: KernelCase[] = ROUND_TRIP.map(([format, bound]) => ({
  name: `quantize ${format} round trip within ${bound}`,
  async run() {
    const values = randomFloats(4 * 512, 9);
    const back = dequantizeGgml(format, quantizeGgml(format, values, 4, 512), values.length);
    const worst = back.reduce((a, v, i) => Math.max(a, Math.abs(v - values[i])), 0);
    return { actual: [worst <= bound ? 1 : worst], expected: [1], tolerance: 0 };
  },
}));

/** Rows of a batch equal the same rows computed alone, bit for bit (13 rows: two overlapping groups of up to 8). */
const batchCases: KernelCase[] = (['q4_k', 'q3_k', 'q5_1'] as const).map((format) => ({
  name: `gemv ${format} batch of 13 rows == rows alone (bitwise)`,
  async run(gpu) {
    const rows = 13, out = 37, cols = 256;
    const { w } = ggmlWeight(gpu, format, out, cols, 21);
    const x = uploadBuffer(gpu, 'x', randomFloats(rows * cols, 22));
    const batched = storageBuffer(gpu, 'y-batch', 4 * rows * out);
    const alone = storageBuffer(gpu, 'y-alone', 4 * rows * out);
    await runStep(gpu, (step) => {
      linear(gpu, step, { x, w, y: batched, rows });
      for (let r = 0; r < rows; r++) linear(gpu, step, { x, w, y: alone, rows: 1, xOffset: r * cols, yOffset: r * out });
    });
    return { actual: await readF32(gpu, batched, rows * out), expected: await readF32(gpu, alone, rows * out), tolerance: 0 };
  },
}));

export const ggmlCases: KernelCase[] = [...linearCases, ...fusedCases, ...embedCases, ...roundTripCases, ...batchCases];
