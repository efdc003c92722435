import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { MAX_SUPERPOSED_CANDIDATES } from '../contract/validate';
import { kernel } from '../gpu/kernel';
import { denseFormat, FORMAT_ID, rowPieces, type SplitMatrix, type WeightMatrix } from './tensor';

const WG = 64;
/** Largest n topN supports (MAX_N in shaders/decode/top_n.wgsl); the request validator refuses more. */
export const TOP_N_MAX = MAX_SUPERPOSED_CANDIDATES;
/** Widest topN workgroup: its lists take WG × MAX_N × 8 bytes of the 16 KiB of workgroup memory WebGPU guarantees. */
export const TOP_N_MAX_WIDTH = 64;

/**
 * out[0..cols) = (Σ_j weights[j] · table[ids[j], :]) · scale for j < count: the superposed input embedding. A split table
 * runs one dispatch per row piece, each adding its drafts (exact when every draft's token is in one piece).
 */
export function superposeEmbed(gpu: Gpu, step: Step, a: { ids: GPUBuffer; weights: GPUBuffer; count: number; table: WeightMatrix | SplitMatrix; out: GPUBuffer; scale?: number }): void {
  rowPieces(a.table).forEach(({ rowStart, w: table }, i) => {
    if ((table.format === 'q8' || table.format === 'q4') && !table.scales) throw new Error(`superposeEmbed: ${table.label} is ${table.format} but has no scales`);
    const k = kernel(gpu, {
      shader: 'decode/superpose_embed',
      overrides: { WG, FORMAT: FORMAT_ID[denseFormat(table, 'superposed-decoding kernels')], SCALE: a.scale ?? 1 },
    });
    // f32/f16 tables have no scales; the shader never reads that binding, so the table stands in for it
    const params = { count: a.count, cols: table.cols, rowStart, tableRows: table.rows, accumulate: i > 0 ? 1 : 0 };
    step.dispatch(k, [a.ids, a.weights, table.data, table.scales ?? table.data, a.out], params, [Math.ceil(table.cols / WG)]);
  });
}

/**
 * The n largest logits of row `logitsRowOffset`, best first (ties: lower id first):
 * out[0..n) = token ids, out[n..2n) = their logits as f32 bits.
 */
export function topN(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; vocab: number; n: number; out: GPUBuffer; logitsRowOffset?: number },
  width = Math.min(gpu.tuning.vocabRow, TOP_N_MAX_WIDTH),
): void {
  if (width > TOP_N_MAX_WIDTH) throw new RangeError(`topN: width ${width} exceeds ${TOP_N_MAX_WIDTH}`);
  if (a.n < 1 || a.n > TOP_N_MAX || a.n > a.vocab) throw new RangeError(`topN: n must be in 1..${Math.min(TOP_N_MAX, a.vocab)}, got ${a.n}`);
  const k = kernel(gpu, { shader: 'decode/top_n', overrides: { WG: width } });
  step.dispatch(k, [a.logits, a.out], { vocab: a.vocab, n: a.n, logitsRowOffset: a.logitsRowOffset ?? 0 }, [1]);
}
