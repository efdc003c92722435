import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { addInPlace, softcapInPlace } from '../../src/kernels/elementwise';
import { runStep } from '../helpers/step';

const addCases: KernelCase[] = [1, 7, 33, 257, 1000].map((n) => ({
  name: `add n=${n}`,
  browser: n === 257,
  async run(gpu) {
    const a = randomFloats(n, 1), b = randomFloats(n, 2);
    const acc = uploadBuffer(gpu, 'acc', a), bb = uploadBuffer(gpu, 'b', b);
    await runStep(gpu, (step) => addInPlace(gpu, step, acc, bb, n));
    return { actual: await readF32(gpu, acc, n), expected: a.map((x, i) => x + b[i]), tolerance: 0 };
  },
}));

/** Logits up to ±200 soft-capped at 30 (Gemma 2's final cap) and 2.5, behind an offset whose neighbours stay as they are. */
const softcapCases: KernelCase[] = [[1, 30], [7, 2.5], [1000, 30], [262147, 30]].map(([n, cap]) => ({
  name: `softcap n=${n} cap=${cap}`,
  browser: n === 1000,
  async run(gpu) {
    const offset = 3;
    const x = randomFloats(offset + n + 2, n, 200);
    const buffer = uploadBuffer(gpu, 'x', x);
    await runStep(gpu, (step) => softcapInPlace(gpu, step, { x: buffer, n, cap, offset }));
    const expected = x.map((v, i) => (i >= offset && i < offset + n ? Math.tanh(v / cap) * cap : v));
    return { actual: await readF32(gpu, buffer, x.length), expected, tolerance: 1e-6 };
  },
}));

export const elementwiseCases: KernelCase[] = [...addCases, ...softcapCases];
