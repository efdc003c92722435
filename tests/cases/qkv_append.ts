import type { KernelCase } from './types';
import type { WeightFormat } from '../../src/kernels/tensor';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { kvAppendFits, linear, linearKernel } from '../../src/kernels/linear';
import { ropeKvWrite } from '../../src/kernels/attention';
import { TUNINGS, type GemvShape } from '../../src/gpu/tuning';
import { ropeTable, type RopeTable } from '../../src/kernels/rope_table';
import { runStep } from '../helpers/step';
import { randomWeight } from './linear';
import { longRope } from './rope';

// RoPE and the KV append in the stacked q/k/v gemv's epilogue (common/linear_pairs_kv.wgsl).
const SHAPES: Record<string, [GemvShape, number]> = {
  blocked: [TUNINGS.cpu.gemv, TUNINGS.cpu.rowReduce],
  wide: [TUNINGS.gpu.gemv, TUNINGS.gpu.rowReduce],
  lanes16: [{ wg: 64, lanes: 16, maxRows: 16 }, 64],
};

interface AppendShape {
  format: WeightFormat;
  shape: keyof typeof SHAPES;
  tokens: number;
  startPos: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  cols: number;
  /** cache slots; fewer than startPos + tokens makes a ring */
  maxSeq: number;
  /** undefined: Llama 3's rotation; null: NoPE */
  table?: RopeTable | null;
  bias?: boolean;
  browser?: boolean;
}

/**
 * The epilogue writes the bits of the split-output gemv then ropeKvWrite: q rotated, rotated k and v in the
 * caches at their positions (a ring wraps), every other cache row untouched. On a device that binds only 8
 * storage buffers per stage (WebGPU's default) the epilogue is refused and the caller keeps ropeKvWrite.
 */
function appendCase(a: AppendShape): KernelCase {
  const { format, tokens, startPos, heads, kvHeads, headDim, cols, maxSeq, bias } = a;
  const [shape, wg] = SHAPES[a.shape];
  const table = a.table === undefined ? ropeTable({ theta: 500000, headDim, scaling: { type: 'llama3', factor: 8 } }) : a.table;
  const ring = startPos + tokens > maxSeq;
  const gemv = linearKernel({ cols, format }, tokens, 0, shape) === 'gemv';
  const rot = table === null ? 'NoPE' : `rotary ${table.rotaryDim}/${headDim}${table.attentionFactor !== 1 ? ' LongRoPE' : ''}`;
  return {
    name: `${gemv ? `gemv-${a.shape} RMSNorm prologue,` : 'gemm'} ${format} q/k/v with RoPE + KV append epilogue == gemv then ropeKvWrite (bitwise): tokens=${tokens} at ${startPos} heads=${heads}/${kvHeads} ${rot}${ring ? ` ring of ${maxSeq}` : ''}${bias ? ' + bias' : ''}`,
    browser: a.browser,
    async run(gpu) {
      const qw = heads * headDim, kw = kvHeads * headDim, out = qw + 2 * kw;
      const { w } = randomWeight(gpu, format, out, cols, out + cols);
      const x = uploadBuffer(gpu, 'x', randomFloats(tokens * cols, 40, 3));
      const biasBuffer = bias ? uploadBuffer(gpu, 'bias', randomFloats(out, 41)) : undefined;
      const norm = gemv ? { weight: uploadBuffer(gpu, 'norm', randomFloats(cols, 42)), eps: 1e-6, weightOffset: 0, wg } : undefined;
      const cacheSize = kvHeads * maxSeq * headDim;
      const kInit = randomFloats(cacheSize, 43), vInit = randomFloats(cacheSize, 44);
      const caches = () => ({ kCache: uploadBuffer(gpu, 'kc', kInit), vCache: uploadBuffer(gpu, 'vc', vInit) });
      const fused = { q: storageBuffer(gpu, 'q', 4 * tokens * qw), ...caches() };
      const apart = { q: storageBuffer(gpu, 'q2', 4 * tokens * qw), k: storageBuffer(gpu, 'k2', 4 * tokens * kw), v: storageBuffer(gpu, 'v2', 4 * tokens * kw), ...caches() };
      const append = { headDim, startPos, maxSeq, ring, table };
      const split = { widths: [qw, kw] as [number, number], y2: fused.kCache, y3: fused.vCache, append };
      if (!kvAppendFits(gpu)) {
        let refused = 0;
        await runStep(gpu, (step) => linear(gpu, step, { x, w, y: fused.q, rows: tokens, bias: biasBuffer, norm, split }, shape)).catch(() => (refused = 1));
        return { actual: [refused], expected: [1], tolerance: 0 };
      }
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: fused.q, rows: tokens, bias: biasBuffer, norm, split }, shape);
        linear(gpu, step, { x, w, y: apart.q, rows: tokens, bias: biasBuffer, norm, split: { widths: [qw, kw], y2: apart.k, y3: apart.v } }, shape);
        ropeKvWrite(gpu, step, { ...apart, tokens, startPos, heads, kvHeads, headDim, maxSeq, ring, table });
      });
      const read = async (b: { q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer }) =>
        [...(await readF32(gpu, b.q, tokens * qw)), ...(await readF32(gpu, b.kCache, cacheSize)), ...(await readF32(gpu, b.vCache, cacheSize))];
      return { actual: await read(fused), expected: await read(apart), tolerance: 0 };
    },
  };
}

export const qkvAppendCases: KernelCase[] = [
  appendCase({ format: 'f16', shape: 'blocked', tokens: 1, startPos: 5, heads: 4, kvHeads: 2, headDim: 64, cols: 64, maxSeq: 16, browser: true }),
  appendCase({ format: 'f32', shape: 'blocked', tokens: 13, startPos: 3, heads: 3, kvHeads: 1, headDim: 6, cols: 72, maxSeq: 20, bias: true }),
  appendCase({ format: 'bf16', shape: 'blocked', tokens: 3, startPos: 2, heads: 2, kvHeads: 2, headDim: 32, cols: 40, maxSeq: 8, table: null }),
  appendCase({ format: 'q8', shape: 'wide', tokens: 5, startPos: 7, heads: 4, kvHeads: 2, headDim: 64, cols: 96, maxSeq: 16, table: ropeTable({ theta: 1e4, headDim: 64, rotaryDim: 16 }), bias: true }),
  appendCase({ format: 'q4', shape: 'lanes16', tokens: 2, startPos: 13, heads: 2, kvHeads: 1, headDim: 32, cols: 64, maxSeq: 8 }),
  appendCase({ format: 'f32', shape: 'wide', tokens: 40, startPos: 4090, heads: 2, kvHeads: 1, headDim: 128, cols: 32, maxSeq: 64, table: longRope(128, 96, 4130) }),
];
