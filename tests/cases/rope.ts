import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { rope, ropeInvFreq, type RopeScaling } from '../../src/kernels/rope';
import { runStep } from '../helpers/step';

/** f32 rotate-half reference: angle rounded to f32 as in HF, then exact cos/sin of that angle. */
function ropeReference(x: Float32Array, tokens: number, heads: number, headDim: number, startPos: number, invFreq: Float32Array): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(x.length);
  const half = headDim / 2;
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = f((startPos + t) * invFreq[i]);
        const c = f(Math.cos(angle)), s = f(Math.sin(angle));
        const x1 = x[base + i], x2 = x[base + half + i];
        out[base + i] = f(f(x1 * c) - f(x2 * s));
        out[base + half + i] = f(f(x2 * c) + f(x1 * s));
      }
    }
  }
  return out;
}

interface RopeShape { tokens: number; heads: number; headDim: number; startPos: number; theta: number; scaling?: RopeScaling; browser?: boolean }

const llama3: RopeScaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
const shapes: RopeShape[] = [
  { tokens: 1, heads: 2, headDim: 64, startPos: 0, theta: 1e4 },
  { tokens: 5, heads: 3, headDim: 32, startPos: 17, theta: 1e4, browser: true },
  { tokens: 3, heads: 4, headDim: 128, startPos: 131_000, theta: 1e6 },
  { tokens: 2, heads: 2, headDim: 48, startPos: 1_000_000, theta: 1e4 },
  { tokens: 4, heads: 2, headDim: 64, startPos: 30_000, theta: 5e5, scaling: llama3 },
  { tokens: 70, heads: 2, headDim: 64, startPos: 9, theta: 1e4, scaling: { type: 'linear', factor: 4 } },
];

export const ropeCases: KernelCase[] = shapes.map((s) => ({
  name: `rope tokens=${s.tokens} heads=${s.heads} headDim=${s.headDim} start=${s.startPos} theta=${s.theta}${s.scaling ? ' ' + s.scaling.type : ''}`,
  browser: s.browser,
  async run(gpu) {
    const n = s.tokens * s.heads * s.headDim;
    const x = randomFloats(n, s.headDim + s.tokens);
    const buffer = uploadBuffer(gpu, 'x', x);
    await runStep(gpu, (step) => rope(gpu, step, { x: buffer, ...s }));
    const expected = ropeReference(x, s.tokens, s.heads, s.headDim, s.startPos, ropeInvFreq(s.headDim, s.theta, s.scaling));
    return { actual: await readF32(gpu, buffer, n), expected, tolerance: 1e-6 };
  },
}));
