import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { rmsNorm } from '../../src/kernels/norm';
import { runStep } from '../helpers/step';

function rmsNormReference(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number): Float32Array {
  const y = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = weight[i] * x[r * dim + i] * inv;
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

export const normCases: KernelCase[] = [1, 7, 257, 1000].flatMap((dim) =>
  [1, 4, 64].flatMap((wg) => [1, 7].map((rows) => rmsNormCase(rows, dim, wg, dim === 257 && rows === 7))));
