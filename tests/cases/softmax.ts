import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { softmaxRows } from '../../src/kernels/softmax';
import { runStep } from '../helpers/step';

function softmaxReference(x: Float32Array, rows: number, cols: number): Float32Array {
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    row.forEach((v, i) => (y[r * cols + i] = Math.exp(v - m) / s));
  }
  return y;
}

/** Logits scaled to ±80 so an unshifted exp would overflow f32. */
function softmaxCase(rows: number, cols: number, wg: number, browser = false): KernelCase {
  return {
    name: `softmax rows=${rows} cols=${cols} wg=${wg}`,
    browser,
    async run(gpu) {
      const xv = randomFloats(rows * cols, cols + 2, 80);
      const x = uploadBuffer(gpu, 'x', xv);
      await runStep(gpu, (step) => softmaxRows(gpu, step, { x, rows, cols }, wg));
      return { actual: await readF32(gpu, x, rows * cols), expected: softmaxReference(xv, rows, cols), tolerance: 1e-5 };
    },
  };
}

export const softmaxCases: KernelCase[] = [1, 7, 257, 1000].flatMap((cols) =>
  [1, 4, 64].flatMap((wg) => [1, 3].map((rows) => softmaxCase(rows, cols, wg, cols === 257 && rows === 3))));
