import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { swiglu } from '../../src/kernels/activation';
import { runStep } from '../helpers/step';

/** Gate values up to ±30 cover silu's saturated tails. */
export const activationCases: KernelCase[] = [1, 7, 257, 1000].map((n) => ({
  name: `swiglu n=${n}`,
  browser: n === 257,
  async run(gpu) {
    const g = randomFloats(n, n, 30), u = randomFloats(n, n + 1, 2);
    const gate = uploadBuffer(gpu, 'gate', g), up = uploadBuffer(gpu, 'up', u);
    const out = storageBuffer(gpu, 'out', 4 * n);
    await runStep(gpu, (step) => swiglu(gpu, step, { gate, up, out, n }));
    return { actual: await readF32(gpu, out, n), expected: g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]), tolerance: 1e-5 };
  },
}));
