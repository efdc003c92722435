import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { addInPlace } from '../../src/kernels/elementwise';
import { runStep } from '../helpers/step';

export const elementwiseCases: KernelCase[] = [1, 7, 33, 257, 1000].map((n) => ({
  name: `add n=${n}`,
  browser: n === 257,
  async run(gpu) {
    const a = randomFloats(n, 1), b = randomFloats(n, 2);
    const acc = uploadBuffer(gpu, 'acc', a), bb = uploadBuffer(gpu, 'b', b);
    await runStep(gpu, (step) => addInPlace(gpu, step, acc, bb, n));
    return { actual: await readF32(gpu, acc, n), expected: a.map((x, i) => x + b[i]), tolerance: 0 };
  },
}));
