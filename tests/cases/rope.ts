import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { rope, rotationTable, type RopeScaling, type RopeTable } from '../../src/kernels/rope';
import { ropeTable } from '../../src/kernels/rope_table';
import { runStep } from '../helpers/step';

/**
 * f32 rotate-half reference: angle rounded to f32 as in HF, then exact cos/sin of that angle times the table's
 * attention factor; dims past the table's rotaryDim stay as they are.
 */
function ropeReference(x: Float32Array, tokens: number, heads: number, headDim: number, startPos: number, table: RopeTable): Float32Array {
  const f = Math.fround;
  const out = x.slice();
  const half = table.rotaryDim / 2, factor = f(table.attentionFactor);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = f((startPos + t) * table.invFreq[i]);
        const c = f(f(Math.cos(angle)) * factor), s = f(f(Math.sin(angle)) * factor);
        const x1 = x[base + i], x2 = x[base + half + i];
        out[base + i] = f(f(x1 * c) - f(x2 * s));
        out[base + half + i] = f(f(x2 * c) + f(x1 * s));
      }
    }
  }
  return out;
}

interface RopeShape { tokens: number; heads: number; headDim: number; startPos: number; theta?: number; scaling?: RopeScaling; table?: RopeTable; label?: string; browser?: boolean }

const llama3: RopeScaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
/** Phi-3.5-mini's geometry with made-up factors: head 96, original context 4096 of 131072 (attention factor 1.19). */
export const longRope = (headDim: number, rotaryDim: number, seqLen: number): RopeTable => ropeTable({
  theta: 1e4, headDim, rotaryDim,
  scaling: {
    type: 'longrope', maxPositions: 131072, originalMaxPositions: 4096,
    shortFactor: Array.from(randomFloats(rotaryDim / 2, 1), (v) => 2 + v), longFactor: Array.from(randomFloats(rotaryDim / 2, 2), (v) => 30 + 29 * v),
  },
}, seqLen);

const shapes: RopeShape[] = [
  { tokens: 1, heads: 2, headDim: 64, startPos: 0, theta: 1e4 },
  { tokens: 5, heads: 3, headDim: 32, startPos: 17, theta: 1e4, browser: true },
  { tokens: 3, heads: 4, headDim: 128, startPos: 131_000, theta: 1e6 },
  { tokens: 2, heads: 2, headDim: 48, startPos: 1_000_000, theta: 1e4 },
  { tokens: 4, heads: 2, headDim: 64, startPos: 30_000, theta: 5e5, scaling: llama3 },
  { tokens: 70, heads: 2, headDim: 64, startPos: 9, theta: 1e4, scaling: { type: 'linear', factor: 4 } },
  // tables: partial rotary (a quarter of the head), LongRoPE short and long with its attention factor, both at once
  { tokens: 3, heads: 2, headDim: 64, startPos: 40, table: ropeTable({ theta: 1e4, headDim: 64, rotaryDim: 16 }), label: 'partial 16/64' },
  { tokens: 7, heads: 3, headDim: 96, startPos: 4000, table: longRope(96, 96, 4096), label: 'longrope short', browser: true },
  { tokens: 2, heads: 3, headDim: 96, startPos: 9000, table: longRope(96, 96, 9001), label: 'longrope long' },
  { tokens: 5, heads: 2, headDim: 128, startPos: 100, table: longRope(128, 96, 105), label: 'longrope partial 96/128' },
];

export const ropeCases: KernelCase[] = shapes.map((s) => ({
  name: `rope tokens=${s.tokens} heads=${s.heads} headDim=${s.headDim} start=${s.startPos} ${s.label ?? `theta=${s.theta}${s.scaling ? ' ' + s.scaling.type : ''}`}`,
  browser: s.browser,
  async run(gpu) {
    const n = s.tokens * s.heads * s.headDim;
    const x = randomFloats(n, s.headDim + s.tokens);
    const buffer = uploadBuffer(gpu, 'x', x);
    await runStep(gpu, (step) => rope(gpu, step, { x: buffer, ...s }));
    const expected = ropeReference(x, s.tokens, s.heads, s.headDim, s.startPos, rotationTable(s.headDim, s));
    return { actual: await readF32(gpu, buffer, n), expected, tolerance: 1e-6 };
  },
}));
