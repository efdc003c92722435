import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import type { Gpu } from '../../src/gpu/device';
import { attention, kvWrite, ropeKvWrite, SPLIT_K_MAX_TOKENS, windowStart } from '../../src/kernels/attention';
import type { SplitKKernel } from '../../src/gpu/tuning';
import { rope, type RopeTable } from '../../src/kernels/rope';
import { ropeTable } from '../../src/kernels/rope_table';
import { longRope } from './rope';
import { runStep } from '../helpers/step';

const kvWriteCase: KernelCase = {
  name: 'kvWrite tokens=3 at startPos=5 kvHeads=2 headDim=48',
  browser: true,
  async run(gpu) {
    const tokens = 3, startPos = 5, kvHeads = 2, headDim = 48, maxSeq = 9;
    const cacheSize = kvHeads * maxSeq * headDim;
    const k = randomFloats(tokens * kvHeads * headDim, 1), v = randomFloats(tokens * kvHeads * headDim, 2);
    const kCacheInit = randomFloats(cacheSize, 3), vCacheInit = randomFloats(cacheSize, 4);
    const kCache = uploadBuffer(gpu, 'kCache', kCacheInit), vCache = uploadBuffer(gpu, 'vCache', vCacheInit);
    await runStep(gpu, (step) => kvWrite(gpu, step, { k: uploadBuffer(gpu, 'k', k), v: uploadBuffer(gpu, 'v', v), kCache, vCache, tokens, startPos, kvHeads, headDim, maxSeq }));
    const expectK = kCacheInit.slice(), expectV = vCacheInit.slice();
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < kvHeads; h++) {
        const src = (t * kvHeads + h) * headDim, dst = (h * maxSeq + startPos + t) * headDim;
        expectK.set(k.subarray(src, src + headDim), dst);
        expectV.set(v.subarray(src, src + headDim), dst);
      }
    }
    const actual = [...(await readF32(gpu, kCache, cacheSize)), ...(await readF32(gpu, vCache, cacheSize))];
    return { actual, expected: [...expectK, ...expectV], tolerance: 0 };
  },
};

/**
 * The fused rope + cache append gives the bits of rope(q), rope(k) and kvWrite, up to the cache's last slot, for
 * full and partial rotary tables (with LongRoPE's attention factor); a NoPE layer (table null) appends k and v
 * as they are and leaves q alone.
 */
function ropeKvWriteCase(tokens: number, startPos: number, heads: number, kvHeads: number, headDim: number, maxSeq: number, table?: RopeTable | null, browser = false): KernelCase {
  const label = table === null ? ' NoPE' : table ? ` rotary=${table.rotaryDim} attention factor=${table.attentionFactor.toFixed(3)}` : '';
  return {
    name: `ropeKvWrite tokens=${tokens} at startPos=${startPos} heads=${heads}/${kvHeads} headDim=${headDim} maxSeq=${maxSeq}${label} == rope + rope + kvWrite (bitwise)`,
    browser,
    async run(gpu) {
      const cacheSize = kvHeads * maxSeq * headDim;
      const q = randomFloats(tokens * heads * headDim, 5), k = randomFloats(tokens * kvHeads * headDim, 6), v = randomFloats(tokens * kvHeads * headDim, 7);
      const kInit = randomFloats(cacheSize, 8), vInit = randomFloats(cacheSize, 9);
      const rotation = table === undefined ? { theta: 500000, scaling: { type: 'llama3' as const, factor: 8 } } : { table };
      const fused = { q: uploadBuffer(gpu, 'q', q), kCache: uploadBuffer(gpu, 'kc', kInit), vCache: uploadBuffer(gpu, 'vc', vInit) };
      const apart = { q: uploadBuffer(gpu, 'q2', q), k: uploadBuffer(gpu, 'k2', k), kCache: uploadBuffer(gpu, 'kc2', kInit), vCache: uploadBuffer(gpu, 'vc2', vInit) };
      const vBuffer = uploadBuffer(gpu, 'v', v);
      await runStep(gpu, (step) => {
        ropeKvWrite(gpu, step, { ...fused, k: uploadBuffer(gpu, 'k', k), v: vBuffer, tokens, startPos, heads, kvHeads, headDim, maxSeq, ...rotation });
        if (table !== null) {
          const ropeArgs = { tokens, headDim, startPos, theta: rotation.theta, scaling: rotation.scaling, table: rotation.table ?? undefined };
          rope(gpu, step, { x: apart.q, heads, ...ropeArgs });
          rope(gpu, step, { x: apart.k, heads: kvHeads, ...ropeArgs });
        }
        kvWrite(gpu, step, { k: apart.k, v: vBuffer, kCache: apart.kCache, vCache: apart.vCache, tokens, startPos, kvHeads, headDim, maxSeq });
      });
      const read = async (b: { q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer }) =>
        [...(await readF32(gpu, b.q, q.length)), ...(await readF32(gpu, b.kCache, cacheSize)), ...(await readF32(gpu, b.vCache, cacheSize))];
      return { actual: await read(fused), expected: await read(apart), tolerance: 0 };
    },
  };
}

export interface AttnShape { tokens: number; startPos: number; heads: number; kvHeads: number; headDim: number; maxSeq: number; window?: number; scale?: number; softcap?: number; browser?: boolean; splitK?: SplitKKernel }

/** fp64-accumulated reference of causal attention at an offset with GQA, an optional sliding window (keys p - window + 1..p), scale and soft cap. */
export function attentionReference(q: Float32Array, kc: Float32Array, vc: Float32Array, s: AttnShape): Float32Array {
  const { tokens, startPos, heads, kvHeads, headDim: D, maxSeq } = s;
  const out = new Float32Array(tokens * heads * D);
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const cap = (x: number) => (s.softcap ? Math.tanh(x / s.softcap) * s.softcap : x);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const kvBase = Math.floor(h / (heads / kvHeads)) * maxSeq;
      const qBase = (t * heads + h) * D;
      const first = s.window ? Math.max(0, startPos + t + 1 - s.window) : 0;
      const keys = startPos + t + 1 - first;
      const scores = new Float64Array(keys);
      for (let k = 0; k < keys; k++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qBase + d] * kc[(kvBase + first + k) * D + d];
        scores[k] = cap(dot * scale);
      }
      const m = Math.max(...scores);
      let sum = 0;
      for (let k = 0; k < keys; k++) sum += (scores[k] = Math.exp(scores[k] - m));
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = 0; k < keys; k++) acc += scores[k] * vc[(kvBase + first + k) * D + d];
        out[qBase + d] = acc / sum;
      }
    }
  }
  return out;
}

async function runAttention(gpu: Gpu, s: AttnShape, q: Float32Array, kCache: GPUBuffer, vCache: GPUBuffer): Promise<Float32Array> {
  const n = s.tokens * s.heads * s.headDim;
  const out = storageBuffer(gpu, 'out', 4 * n);
  await runStep(gpu, (step) => attention(gpu, step, { q: uploadBuffer(gpu, 'q', q), kCache, vCache, out, ...s }));
  return readF32(gpu, out, n);
}

/**
 * Random q and caches; cache positions past startPos + tokens hold large values, and those before the first
 * row's window NaN: neither may ever be read.
 */
function attentionInputs(s: AttnShape) {
  const cacheSize = s.kvHeads * s.maxSeq * s.headDim;
  const q = randomFloats(s.tokens * s.heads * s.headDim, s.tokens + 7 * s.headDim, 2);
  const kc = randomFloats(cacheSize, s.startPos + 11), vc = randomFloats(cacheSize, s.maxSeq + 13);
  const poison = (p: number, value: number, h: number) => {
    kc.fill(value, (h * s.maxSeq + p) * s.headDim, (h * s.maxSeq + p + 1) * s.headDim);
    vc.fill(value, (h * s.maxSeq + p) * s.headDim, (h * s.maxSeq + p + 1) * s.headDim);
  };
  for (let h = 0; h < s.kvHeads; h++) {
    for (let p = s.startPos + s.tokens; p < s.maxSeq; p++) poison(p, 1e4, h);
    for (let p = 0; p < windowStart(s.startPos, s.window); p++) poison(p, NaN, h);
  }
  return { q, kc, vc };
}

const shapeName = (s: AttnShape) =>
  `tokens=${s.tokens} start=${s.startPos} heads=${s.heads}/${s.kvHeads} headDim=${s.headDim} maxSeq=${s.maxSeq}${s.window ? ` window=${s.window}` : ''}${s.scale ? ` scale=${s.scale}` : ''}${s.softcap ? ` softcap=${s.softcap}` : ''}${s.splitK ? ` ${s.splitK}` : ''}`;

/** Split-K shapes run with both partial kernels (the serial one holds heads up to 128); longer inputs take flash. */
const withSplitKKernels = (shapes: AttnShape[]): AttnShape[] => shapes.flatMap((s) => {
  if (s.tokens > SPLIT_K_MAX_TOKENS) return [s];
  const kernels: SplitKKernel[] = s.headDim <= 128 ? ['lanes', 'serial'] : ['lanes'];
  return kernels.map((splitK) => ({ ...s, splitK, browser: s.browser && splitK === 'serial' }));
});

const referenceShapes: AttnShape[] = [
  ...[1, 7, 63, 65, 130, 257].map((len) => ({ tokens: 1, startPos: len - 1, heads: 4, kvHeads: 2, headDim: 64, maxSeq: 300, browser: len === 130 })),
  { tokens: 5, startPos: 60, heads: 6, kvHeads: 2, headDim: 48, maxSeq: 80 },
  { tokens: 16, startPos: 0, heads: 2, kvHeads: 1, headDim: 32, maxSeq: 16 },
  { tokens: 3, startPos: 125, heads: 3, kvHeads: 3, headDim: 32, maxSeq: 128 },
  ...[17, 63, 65, 130].map((tokens) => ({ tokens, startPos: 0, heads: 3, kvHeads: 1, headDim: 64, maxSeq: 140, browser: tokens === 65 })),
  { tokens: 40, startPos: 30, heads: 6, kvHeads: 2, headDim: 48, maxSeq: 70 },
  { tokens: 33, startPos: 224, heads: 2, kvHeads: 2, headDim: 32, maxSeq: 257 },
  // the largest head the flash kernel keeps in registers, and larger heads (flash_large_head.wgsl; split-K is the same kernel)
  { tokens: 20, startPos: 70, heads: 2, kvHeads: 1, headDim: 128, maxSeq: 96 },
  { tokens: 20, startPos: 70, heads: 2, kvHeads: 1, headDim: 160, maxSeq: 96 },
  { tokens: 3, startPos: 70, heads: 2, kvHeads: 1, headDim: 256, maxSeq: 96 },
  // sliding windows: tiles before the window (serial 32 keys, lanes 64), a window starting on a tile boundary, a
  // window of one key, one wider than the context, blocks whose rows' windows start in different tiles
  ...[[256, 100], [127, 64], [95, 32], [40, 100], [9, 1]].map(([startPos, window]) => ({ tokens: 1, startPos, heads: 4, kvHeads: 2, headDim: 64, maxSeq: 300, window, browser: window === 100 && startPos === 256 })),
  { tokens: 5, startPos: 60, heads: 6, kvHeads: 2, headDim: 48, maxSeq: 80, window: 33 },
  { tokens: 16, startPos: 120, heads: 2, kvHeads: 1, headDim: 32, maxSeq: 136, window: 60 },
  { tokens: 3, startPos: 70, heads: 2, kvHeads: 1, headDim: 256, maxSeq: 96, window: 9 },
  { tokens: 40, startPos: 30, heads: 6, kvHeads: 2, headDim: 48, maxSeq: 70, window: 17, browser: true },
  { tokens: 65, startPos: 0, heads: 3, kvHeads: 1, headDim: 64, maxSeq: 140, window: 16 },
  { tokens: 20, startPos: 70, heads: 2, kvHeads: 1, headDim: 160, maxSeq: 96, window: 30 },
  // Gemma's scale (query_pre_attn_scalar ** -0.5) and Gemma 2's soft cap (50; 0.5 saturates most scores), with windows
  { tokens: 1, startPos: 200, heads: 4, kvHeads: 2, headDim: 64, maxSeq: 300, scale: 256 ** -0.5, softcap: 50, window: 70 },
  { tokens: 1, startPos: 130, heads: 4, kvHeads: 2, headDim: 64, maxSeq: 300, softcap: 0.5, browser: true },
  { tokens: 7, startPos: 40, heads: 2, kvHeads: 1, headDim: 32, maxSeq: 64, scale: 0.6, softcap: 0.5, window: 20 },
  { tokens: 3, startPos: 70, heads: 2, kvHeads: 1, headDim: 256, maxSeq: 96, softcap: 0.5 },
  { tokens: 45, startPos: 0, heads: 4, kvHeads: 1, headDim: 64, maxSeq: 64, scale: 0.3, softcap: 0.5, window: 9 },
  { tokens: 20, startPos: 70, heads: 2, kvHeads: 1, headDim: 160, maxSeq: 96, scale: 0.2, softcap: 0.5 },
];

const referenceCases: KernelCase[] = withSplitKKernels(referenceShapes).map((s) => ({
  name: `attention ${s.tokens <= SPLIT_K_MAX_TOKENS ? 'split-K' : 'flash'} ${shapeName(s)}`,
  browser: s.browser,
  async run(gpu) {
    const { q, kc, vc } = attentionInputs(s);
    const actual = await runAttention(gpu, s, q, uploadBuffer(gpu, 'kCache', kc), uploadBuffer(gpu, 'vCache', vc));
    return { actual, expected: attentionReference(q, kc, vc, s), tolerance: 1e-5 };
  },
}));

/** A verify block of k+1 rows gives each row the same bits as decoding that row alone. */
const verifyShapes: AttnShape[] = [
  { tokens: 5, startPos: 61, heads: 4, kvHeads: 1, headDim: 64, maxSeq: 70, browser: true },
  { tokens: SPLIT_K_MAX_TOKENS, startPos: 120, heads: 6, kvHeads: 2, headDim: 48, maxSeq: 136 },
  // rows whose windows start in different tiles of both kernels (61..76 crosses 64)
  { tokens: SPLIT_K_MAX_TOKENS, startPos: 120, heads: 6, kvHeads: 2, headDim: 48, maxSeq: 136, window: 60, browser: true },
  { tokens: 5, startPos: 61, heads: 4, kvHeads: 1, headDim: 64, maxSeq: 70, window: 7, scale: 0.3, softcap: 0.5 },
  // a block in the first serial tile (one pass, no reduce), and one across it whose first rows are reduced from a single tile
  { tokens: 6, startPos: 3, heads: 4, kvHeads: 2, headDim: 64, maxSeq: 48 },
  { tokens: 8, startPos: 28, heads: 4, kvHeads: 2, headDim: 64, maxSeq: 48 },
];

const verifyCases: KernelCase[] = withSplitKKernels(verifyShapes).map((s) => ({
  name: `attention block rows equal single-row decode bitwise ${shapeName(s)}`,
  browser: s.browser,
  async run(gpu) {
    const { q, kc, vc } = attentionInputs(s);
    const kCache = uploadBuffer(gpu, 'kCache', kc), vCache = uploadBuffer(gpu, 'vCache', vc);
    const block = await runAttention(gpu, s, q, kCache, vCache);
    const rowSize = s.heads * s.headDim;
    const single = new Float32Array(block.length);
    for (let t = 0; t < s.tokens; t++) {
      const row = await runAttention(gpu, { ...s, tokens: 1, startPos: s.startPos + t }, q.slice(t * rowSize, (t + 1) * rowSize), kCache, vCache);
      single.set(row, t * rowSize);
    }
    return { actual: block, expected: single, tolerance: 0 };
  },
}));

const ropeKvWriteCases = [
  ropeKvWriteCase(1, 0, 4, 2, 64, 1, undefined, true), ropeKvWriteCase(7, 3000, 6, 2, 48, 3007), ropeKvWriteCase(3, 5, 3, 3, 6, 9),
  ropeKvWriteCase(5, 4094, 3, 1, 128, 4100, longRope(128, 96, 4099), true), ropeKvWriteCase(2, 7, 2, 2, 64, 12, ropeTable({ theta: 1e4, headDim: 64, rotaryDim: 16 })),
  ropeKvWriteCase(3, 5, 4, 2, 32, 9, null),
];

export const attentionCases: KernelCase[] = [kvWriteCase, ...ropeKvWriteCases, ...referenceCases, ...verifyCases];
