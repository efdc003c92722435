import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { headRmsNorm, rmsNorm } from '../../src/kernels/norm';
import { runStep } from '../helpers/step';

/** (weightOffset + weight) * x / sqrt(mean(x^2) + eps) per row, in f64. */
export function rmsNormReference(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number, weightOffset = 0): Float32Array {
  const y = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = (weightOffset + weight[i]) * x[r * dim + i] * inv;
  }
  return y;
}

/** rows x dim with offsets into x and y, for reduction widths 1 (CPU adapters) and 64 (GPUs). */
function rmsNormCase(rows: number, dim: number, wg: number, browser = false): KernelCase {
  return {
    name: `rmsnorm rows=${rows} dim=${dim} wg=${wg}`,
    browser,
    async run(gpu) {
      const eps = 1e-6, xOffset = dim + 3, yOffset = 5;
      const xv = randomFloats(xOffset + rows * dim, dim, 3);
      const wv = randomFloats(dim, dim + 1);
      const x = uploadBuffer(gpu, 'x', xv), weight = uploadBuffer(gpu, 'weight', wv);
      const y = storageBuffer(gpu, 'y', 4 * (yOffset + rows * dim));
      await runStep(gpu, (step) => rmsNorm(gpu, step, { x, weight, y, rows, dim, eps, xOffset, yOffset }, wg));
      return {
        actual: (await readF32(gpu, y, yOffset + rows * dim)).subarray(yOffset),
        expected: rmsNormReference(xv.subarray(xOffset), wv, rows, dim, eps),
        tolerance: 1e-5,
      };
    },
  };
}

/** Gemma's norm ((1 + w) in f32) added into y: y0 + (1 + w) * x / rms(x), the rest of y left alone. */
function gemmaAccumulateCase(rows: number, dim: number, wg: number, browser = false): KernelCase {
  return {
    name: `rmsnorm (1 + w) accumulate rows=${rows} dim=${dim} wg=${wg}`,
    browser,
    async run(gpu) {
      const eps = 1e-6, yOffset = 2;
      const xv = randomFloats(rows * dim, dim + 5, 3), wv = randomFloats(dim, dim + 6), y0 = randomFloats(yOffset + rows * dim + 3, dim + 7);
      const x = uploadBuffer(gpu, 'x', xv), weight = uploadBuffer(gpu, 'weight', wv), y = uploadBuffer(gpu, 'y', y0);
      await runStep(gpu, (step) => rmsNorm(gpu, step, { x, weight, y, rows, dim, eps, yOffset, weightOffset: 1, accumulate: true }, wg));
      const expected = y0.slice();
      rmsNormReference(xv, wv, rows, dim, eps, 1).forEach((v, i) => (expected[yOffset + i] += v));
      return { actual: await readF32(gpu, y, y0.length), expected, tolerance: 1e-5 };
    },
  };
}

/** q and k [tokens, heads or kvHeads, headDim] normalised per head in place against the reference. */
function headNormCase(tokens: number, heads: number, kvHeads: number, headDim: number, wg: number, weightOffset: number, browser = false): KernelCase {
  return {
    name: `head rmsnorm q/k tokens=${tokens} heads=${heads}/${kvHeads} headDim=${headDim} wg=${wg}${weightOffset ? ' (1 + w)' : ''}`,
    browser,
    async run(gpu) {
      const eps = 1e-6;
      const qv = randomFloats(tokens * heads * headDim, headDim + 1, 4), kv = randomFloats(tokens * kvHeads * headDim, headDim + 2, 4);
      const qw = randomFloats(headDim, 3), kw = randomFloats(headDim, 4);
      const q = uploadBuffer(gpu, 'q', qv), k = uploadBuffer(gpu, 'k', kv);
      await runStep(gpu, (step) => headRmsNorm(gpu, step, {
        q, k, qWeight: uploadBuffer(gpu, 'qw', qw), kWeight: uploadBuffer(gpu, 'kw', kw), tokens, heads, kvHeads, headDim, eps, weightOffset,
      }, wg));
      const expected = [...rmsNormReference(qv, qw, tokens * heads, headDim, eps, weightOffset), ...rmsNormReference(kv, kw, tokens * kvHeads, headDim, eps, weightOffset)];
      return { actual: [...(await readF32(gpu, q, qv.length)), ...(await readF32(gpu, k, kv.length))], expected, tolerance: 1e-5 };
    },
  };
}

/** The fused per-head norm gives each head the bits of rmsNorm over [tokens * heads, headDim] rows. */
function headNormEqualsRowsCase(wg: number): KernelCase {
  return {
    name: `head rmsnorm == rmsnorm rows (bitwise) wg=${wg}`,
    async run(gpu) {
      const tokens = 5, heads = 3, kvHeads = 1, headDim = 128, eps = 1e-6;
      const qv = randomFloats(tokens * heads * headDim, 8, 4), kv = randomFloats(tokens * kvHeads * headDim, 9, 4);
      const qWeight = uploadBuffer(gpu, 'qw', randomFloats(headDim, 10)), kWeight = uploadBuffer(gpu, 'kw', randomFloats(headDim, 11));
      const q = uploadBuffer(gpu, 'q', qv), k = uploadBuffer(gpu, 'k', kv);
      const qRows = storageBuffer(gpu, 'q-rows', 4 * qv.length), kRows = storageBuffer(gpu, 'k-rows', 4 * kv.length);
      await runStep(gpu, (step) => {
        rmsNorm(gpu, step, { x: q, weight: qWeight, y: qRows, rows: tokens * heads, dim: headDim, eps, weightOffset: 1 }, wg);
        rmsNorm(gpu, step, { x: k, weight: kWeight, y: kRows, rows: tokens * kvHeads, dim: headDim, eps, weightOffset: 1 }, wg);
        headRmsNorm(gpu, step, { q, k, qWeight, kWeight, tokens, heads, kvHeads, headDim, eps, weightOffset: 1 }, wg);
      });
      const read = async (a: GPUBuffer, b: GPUBuffer) => [...(await readF32(gpu, a, qv.length)), ...(await readF32(gpu, b, kv.length))];
      return { actual: await read(q, k), expected: await read(qRows, kRows), tolerance: 0 };
    },
  };
}

export const normCases: KernelCase[] = [
  ...[1, 7, 257, 1000].flatMap((dim) => [1, 4, 64].flatMap((wg) => [1, 7].map((rows) => rmsNormCase(rows, dim, wg, dim === 257 && rows === 7)))),
  ...[4, 64].flatMap((wg) => [gemmaAccumulateCase(1, 640, wg), gemmaAccumulateCase(7, 257, wg, wg === 4)]),
  ...[1, 4, 64].flatMap((wg) => [
    headNormCase(1, 16, 8, 128, wg, 0),
    headNormCase(7, 3, 1, 256, wg, 1, wg === 4),
    headNormCase(45, 4, 1, 36, wg, 0),
    headNormEqualsRowsCase(wg),
  ]),
];
