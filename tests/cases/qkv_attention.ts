import type { KernelCase } from './types';
import type { WeightFormat } from '../../src/kernels/tensor';
import { randomFloats, relativeError } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { decodeAttentionFits, kvAppendFits, linear } from '../../src/kernels/linear';
import { attention, ringSlots, SPLIT_K_TILE } from '../../src/kernels/attention';
import { TUNINGS } from '../../src/gpu/tuning';
import { ropeTable, type RopeTable } from '../../src/kernels/rope_table';
import { runStep } from '../helpers/step';
import { randomWeight } from './linear';
import { attentionReference } from './attention';

// A decode row's q/k/v gemv and its attention in one dispatch (attention/qkv_decode.wgsl, KvAppend.attention).
const shape = TUNINGS.cpu.gemv;
const NORM_WG = TUNINGS.cpu.rowReduce;
const TILE = SPLIT_K_TILE.serial;

interface FusedShape {
  format: WeightFormat;
  heads: number;
  kvHeads: number;
  headDim: number;
  cols: number;
  /** the rows' positions: startPos .. startPos + rows − 1, as a verify block and as single decode rows */
  startPos: number;
  rows: number;
  maxSeq: number;
  window?: number;
  scale?: number;
  softcap?: number;
  /** undefined: Llama 3's rotation; null: NoPE */
  table?: RopeTable | null;
  bias?: boolean;
  norm?: boolean;
  /** why the fused kernel must refuse the rows (the separate kernels run them) */
  refused?: string;
}

/**
 * Rows startPos.. decoded one at a time through the fused kernel give the bits of the same rows as one verify
 * block through the separate kernels (the q/k/v gemv with its RoPE + KV append epilogue, then split-K attention):
 * each row's attention output and both caches, every cache row. The outputs also match the fp64 attention of the
 * block's q and caches (tests/cases/attention.ts). A row the fused kernel cannot take (its keys past one serial
 * tile) is refused with a typed error; so is every row on a device without the epilogue's ninth binding.
 */
function fusedCase(a: FusedShape): KernelCase {
  const { format, heads, kvHeads, headDim, cols, startPos, rows, maxSeq, window, scale, softcap, bias } = a;
  const table = a.table === undefined ? ropeTable({ theta: 500000, headDim, scaling: { type: 'llama3', factor: 8 } }) : a.table;
  const ring = startPos + rows > maxSeq;
  const rot = table === null ? ' NoPE' : table.rotaryDim !== headDim ? ` rotary ${table.rotaryDim}` : '';
  const extras = `${window ? ` window ${window}` : ''}${ring ? ` ring of ${maxSeq}` : ''}${scale ? ` scale ${scale}` : ''}${softcap ? ` softcap ${softcap}` : ''}${bias ? ' + bias' : ''}${a.norm === false ? ' no norm' : ''}`;
  const claim = a.refused ? `refused (${a.refused})` : 'rows decoded alone == verify block through the separate kernels (bitwise)';
  return {
    name: `${format} q/k/v + attention in one dispatch, ${claim}: contexts ${startPos + 1}..${startPos + rows} heads ${heads}/${kvHeads} head ${headDim}${rot}${extras}`,
    async run(gpu) {
      const qw = heads * headDim, kw = kvHeads * headDim, out = qw + 2 * kw;
      const { w } = randomWeight(gpu, format, out, cols, out + cols + headDim);
      const xs = randomFloats(rows * cols, 50 + rows, 3);
      const x = uploadBuffer(gpu, 'x', xs);
      const biasBuffer = bias ? uploadBuffer(gpu, 'bias', randomFloats(out, 51)) : undefined;
      const norm = a.norm === false ? undefined : { weight: uploadBuffer(gpu, 'norm', randomFloats(cols, 52)), eps: 1e-6, weightOffset: 0, wg: NORM_WG };
      const cacheSize = kvHeads * maxSeq * headDim;
      const kInit = randomFloats(cacheSize, 53), vInit = randomFloats(cacheSize, 54);
      const caches = () => ({ kCache: uploadBuffer(gpu, 'kc', kInit), vCache: uploadBuffer(gpu, 'vc', vInit) });
      const scores = { scale, softcap, window };
      const append = (pos: number, n: number) => ({ headDim, startPos: pos, maxSeq, ring, table, ...(n === 1 ? { attention: scores } : {}) });
      const fits = kvAppendFits(gpu) && Array.from({ length: rows }, (_, t) => decodeAttentionFits(gpu, w, 1, { headDim, group: heads / kvHeads, startPos: startPos + t, window }, shape)).every(Boolean);
      const fused = { outs: Array.from({ length: rows }, () => storageBuffer(gpu, 'o', 4 * qw)), ...caches() };
      const single = (t: number) => runStep(gpu, (step) => linear(gpu, step, {
        x: uploadBuffer(gpu, 'x1', xs.subarray(t * cols, (t + 1) * cols)), w, y: fused.outs[t], rows: 1, bias: biasBuffer, norm,
        split: { widths: [qw, kw], y2: fused.kCache, y3: fused.vCache, append: append(startPos + t, 1) },
      }, shape));
      if (!fits || a.refused) {
        if (fits === !!a.refused && kvAppendFits(gpu)) throw new Error(`decodeAttentionFits ${fits} for a case ${a.refused ? '' : 'not '}expected refused`);
        let refused = 0;
        await single(rows - 1).catch(() => (refused = 1));
        return { actual: [refused], expected: [1], tolerance: 0 };
      }
      for (let t = 0; t < rows; t++) await single(t);
      const block = { q: storageBuffer(gpu, 'q', 4 * rows * qw), out: storageBuffer(gpu, 'out', 4 * rows * qw), ...caches() };
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: block.q, rows, bias: biasBuffer, norm, split: { widths: [qw, kw], y2: block.kCache, y3: block.vCache, append: append(startPos, rows) } }, shape);
        attention(gpu, step, { q: block.q, out: block.out, kCache: block.kCache, vCache: block.vCache, tokens: rows, startPos, heads, kvHeads, headDim, maxSeq, ring, ...scores, splitK: 'serial' });
      });
      const fusedOut = (await Promise.all(fused.outs.map((o) => readF32(gpu, o, qw)))).flatMap((o) => [...o]);
      const blockOut = await readF32(gpu, block.out, rows * qw);
      const [kc, vc] = await Promise.all([readF32(gpu, block.kCache, cacheSize), readF32(gpu, block.vCache, cacheSize)]);
      // fp64 attention of the block's q and caches (a ring cache is laid out by position here: only unwrapped cases)
      if (!ring) {
        const reference = attentionReference(await readF32(gpu, block.q, rows * qw), kc, vc, { tokens: rows, startPos, heads, kvHeads, headDim, maxSeq, window, scale, softcap });
        const error = relativeError(fusedOut, reference);
        if (!(error <= 1e-5)) return { actual: [error], expected: [0], tolerance: 0 };
      }
      const actual = [...fusedOut, ...(await readF32(gpu, fused.kCache, cacheSize)), ...(await readF32(gpu, fused.vCache, cacheSize))];
      return { actual, expected: [...blockOut, ...kc, ...vc], tolerance: 0 };
    },
  };
}

export const qkvAttentionCases: KernelCase[] = [
  // tiny-dense's shape: contexts 1..3, then across the first tile's end (31..34: one tile, then partials merged)
  fusedCase({ format: 'f16', heads: 4, kvHeads: 2, headDim: 64, cols: 256, startPos: 0, rows: 3, maxSeq: 40 }),
  fusedCase({ format: 'f16', heads: 4, kvHeads: 2, headDim: 64, cols: 64, startPos: TILE - 2, rows: 4, maxSeq: 40, bias: true }),
  // GQA groups 1 and 4 (4 q heads + k + v = 480 rows of head 80: two row blocks of the workgroup), partial rotary
  fusedCase({ format: 'f32', heads: 3, kvHeads: 3, headDim: 80, cols: 40, startPos: 5, rows: 2, maxSeq: 9, table: ropeTable({ theta: 1e4, headDim: 80, rotaryDim: 32 }), norm: false }),
  fusedCase({ format: 'bf16', heads: 8, kvHeads: 2, headDim: 80, cols: 48, startPos: 197, rows: 3, maxSeq: 210, scale: 0.3, softcap: 0.5 }),
  fusedCase({ format: 'q8', heads: 4, kvHeads: 1, headDim: 64, cols: 64, startPos: 61, rows: 5, maxSeq: 70, table: null }),
  // sliding windows over a ring cache that has wrapped: keys 193..202 in one tile, then 161..202 over two
  fusedCase({ format: 'f16', heads: 4, kvHeads: 2, headDim: 64, cols: 32, startPos: 200, rows: 3, maxSeq: ringSlots(8, 3), window: 8 }),
  fusedCase({ format: 'f16', heads: 6, kvHeads: 3, headDim: 96, cols: 32, startPos: 200, rows: 3, maxSeq: ringSlots(40, 3), window: 40 }),
  // where the separate kernels stay
  fusedCase({ format: 'f16', heads: 2, kvHeads: 1, headDim: 160, cols: 32, startPos: 3, rows: 1, maxSeq: 8, refused: 'a head over 128' }),
  fusedCase({ format: 'f16', heads: 16, kvHeads: 1, headDim: 128, cols: 32, startPos: 999, rows: 1, maxSeq: 1000, refused: '32 tiles of 16 heads over the workgroup memory' }),
  fusedCase({ format: 'f16', heads: 4, kvHeads: 2, headDim: 64, cols: 32, startPos: 300, rows: 1, maxSeq: 310, refused: '10 key tiles, past FUSED_MAX_TILES' }),
];
