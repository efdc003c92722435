import type { KernelCase } from './types';
import type { Gpu } from '../../src/gpu/device';
import { GGML_BLOCKS, isGgmlFormat, type GgmlFormat, type MatrixFormat, type WeightFormat } from '../../src/kernels/tensor';
import { randomFloats } from '../helpers/reference';
import { readF32, readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { expertMlp, moeCombine, planLayout, routerTopK, sortPairs, usesSortedOrder, type ExpertSet } from '../../src/kernels/moe';
import { randomWeight } from './linear';
import { ggmlWeight } from './ggml';
import type { GemvShape } from '../../src/gpu/tuning';
import { runStep } from '../helpers/step';

const silu = (v: number) => v / (1 + Math.exp(-v));

const matrix = (gpu: Gpu, format: MatrixFormat, rows: number, cols: number, seed: number) =>
  (isGgmlFormat(format) ? ggmlWeight(gpu, format, rows, cols, seed) : randomWeight(gpu, format, rows, cols, seed));

/** Random stacked experts on the GPU (identity slots) and their f32 values; down in `downFormat` (default: format). */
export function randomExperts(gpu: Gpu, format: MatrixFormat, experts: number, hidden: number, I: number, seed: number, downFormat = format) {
  const gate = matrix(gpu, format, experts * I, hidden, seed);
  const up = matrix(gpu, format, experts * I, hidden, seed + 1);
  const down = matrix(gpu, downFormat, experts * hidden, I, seed + 2);
  const set: ExpertSet = {
    gate: gate.w, up: up.w, down: down.w, intermediate: I, hidden,
    slots: uploadBuffer(gpu, 'slots', Uint32Array.from({ length: experts }, (_, e) => e)),
  };
  return { set, gate: gate.values, up: up.values, down: down.values };
}

/** The naive per-token loop: x[t] += Σ_j w[t,j] * down_e(silu(gate_e h) * up_e h), in f64. */
export function moeReference(
  h: Float32Array, x: Float32Array, ids: Uint32Array, weights: Float32Array, k: number, hidden: number, I: number,
  ref: { gate: Float32Array; up: Float32Array; down: Float32Array },
): Float32Array {
  const out = x.slice();
  const tokens = h.length / hidden;
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < k; j++) {
      const e = ids[t * k + j];
      const act = new Float64Array(I);
      for (let i = 0; i < I; i++) {
        let g = 0, u = 0;
        for (let c = 0; c < hidden; c++) {
          g += ref.gate[(e * I + i) * hidden + c] * h[t * hidden + c];
          u += ref.up[(e * I + i) * hidden + c] * h[t * hidden + c];
        }
        act[i] = silu(g) * u;
      }
      for (let c = 0; c < hidden; c++) {
        let y = 0;
        for (let i = 0; i < I; i++) y += ref.down[(e * hidden + c) * I + i] * act[i];
        out[t * hidden + c] += weights[t * k + j] * y;
      }
    }
  }
  return out;
}

type Routing = 'random' | 'skewed' | 'one-expert';

/** Expert ids per pair: random distinct; skewed (every token: expert 3 first, then expert 0); or every pair expert 3. */
function routing(kind: Routing, tokens: number, k: number, experts: number, seed: number): Uint32Array {
  const ids = new Uint32Array(tokens * k);
  const r = randomFloats(tokens * k, seed);
  for (let t = 0; t < tokens; t++) {
    const taken = new Set<number>();
    for (let j = 0; j < k; j++) {
      let e = kind === 'one-expert' ? 3 : kind === 'skewed' ? (j === 0 ? 3 : 0) : Math.floor((r[t * k + j] * 0.5 + 0.5) * experts);
      while (kind === 'random' && taken.has(e)) e = (e + 1) % experts;
      taken.add(e);
      ids[t * k + j] = e;
    }
  }
  return ids;
}

/**
 * The sorted/grouped (or per-pair gemv) MoE MLP plus combine equals the naive per-token loop (skewed routing needs 4+ experts). GGUF blocks: one block of
 * 256 (K-quants; q6_k/q3_k rows of 210/110 bytes start at 2-byte offsets) or three and five of 32 per row, with down in
 * `downFormat` (Q4_K_M files keep it in q6_k).
 */
function groupedCase(format: MatrixFormat, tokens: number, kind: Routing, browser = false, gemv?: GemvShape, downFormat = format): KernelCase {
  const block = isGgmlFormat(format) ? GGML_BLOCKS[format].elements : 0;
  const [experts, hidden, I] = block === 256 ? [4, 256, 256] : block === 32 ? [4, 96, 160] : [6, 64, format.startsWith('q') ? 64 : 48];
  const k = kind === 'one-expert' ? 1 : 2;
  const path = usesSortedOrder(tokens) ? 'sorted+grouped gemm' : `per-pair gemv${gemv ? ` wg=${gemv.wg} lanes=${gemv.lanes}` : ''}`;
  return {
    name: `experts ${path} ${format}${downFormat === format ? '' : `/${downFormat}`} tokens=${tokens} routing=${kind} == per-token loop`,
    browser,
    async run(gpu) {
      // GGUF weights: one seed, so that the cases share their quantized weights (tests/cases/ggml.ts)
      const { set, ...ref } = randomExperts(gpu, format, experts, hidden, I, block ? 40 : 40 + tokens, downFormat);
      const hv = randomFloats(tokens * hidden, 3), xv = randomFloats(tokens * hidden, 4);
      const idv = routing(kind, tokens, k, experts, tokens);
      const wv = randomFloats(tokens * k, 5).map(Math.abs);
      const layout = planLayout(gpu, tokens * k, experts);
      const h = uploadBuffer(gpu, 'h', hv), x = uploadBuffer(gpu, 'x', xv);
      const ids = uploadBuffer(gpu, 'ids', idv), weights = uploadBuffer(gpu, 'w', wv);
      const plan = storageBuffer(gpu, 'plan', 4 * layout.words);
      const act = storageBuffer(gpu, 'act', 4 * tokens * k * I), out = storageBuffer(gpu, 'out', 4 * tokens * k * hidden);
      await runStep(gpu, (step) => {
        if (usesSortedOrder(tokens)) sortPairs(gpu, step, ids, plan, layout);
        expertMlp(gpu, step, { h, ids, tokens, k, experts: set, act, out, plan, layout }, gemv);
        moeCombine(gpu, step, { weights, plan, layout, expertOut: out, x, tokens, k, hidden });
      });
      return { actual: await readF32(gpu, x, tokens * hidden), expected: moeReference(hv, xv, idv, wv, k, hidden, I, ref), tolerance: 1e-5 };
    },
  };
}

/** The plan's permutation is the stable sort of pairs by expert, and its inverse. */
function sortCase(tokens: number, kind: Routing): KernelCase {
  const experts = 6, k = kind === 'one-expert' ? 1 : 2;
  return {
    name: `counting sort tokens=${tokens} routing=${kind}: stable permutation, none dropped`,
    async run(gpu) {
      const idv = routing(kind, tokens, k, experts, tokens + 9);
      const layout = planLayout(gpu, tokens * k, experts);
      const ids = uploadBuffer(gpu, 'ids', idv), plan = storageBuffer(gpu, 'plan', 4 * layout.words);
      await runStep(gpu, (step) => sortPairs(gpu, step, ids, plan, layout));
      const p = await readU32(gpu, plan, layout.words);
      const order = Array.from(idv.keys()).sort((a, b) => idv[a] - idv[b] || a - b);
      const expected = [...order, ...order.map((_, pair) => order.indexOf(pair))];
      return { actual: [...p.subarray(layout.sortedAt, layout.sortedAt + 2 * tokens * k)], expected, tolerance: 0 };
    },
  };
}

/** Softmax + top-k (+ renormalisation) against a CPU reference. */
function routerCase(tokens: number, experts: number, k: number, normTopK: boolean): KernelCase {
  return {
    name: `router top-${k} of ${experts} tokens=${tokens} normTopK=${normTopK}`,
    async run(gpu) {
      const lv = randomFloats(tokens * experts, 17, 3);
      const logits = uploadBuffer(gpu, 'logits', lv);
      const ids = storageBuffer(gpu, 'ids', 4 * tokens * k), weights = storageBuffer(gpu, 'w', 4 * tokens * k);
      await runStep(gpu, (step) => routerTopK(gpu, step, { logits, ids, weights, tokens, experts, k, normTopK }));
      const expected: number[] = [];
      for (let t = 0; t < tokens; t++) {
        const row = Array.from(lv.subarray(t * experts, (t + 1) * experts));
        const max = Math.max(...row);
        const p = row.map((l) => Math.exp(l - max));
        const sum = p.reduce((a, b) => a + b, 0);
        const top = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
        const chosen = top.reduce((s, e) => s + p[e] / sum, 0);
        expected.push(...top, ...top.map((e) => (p[e] / sum) / (normTopK ? chosen : 1)));
      }
      const idOut = await readU32(gpu, ids, tokens * k), wOut = await readF32(gpu, weights, tokens * k);
      const actual: number[] = [];
      for (let t = 0; t < tokens; t++) actual.push(...idOut.subarray(t * k, t * k + k), ...wOut.subarray(t * k, t * k + k));
      return { actual, expected, tolerance: 1e-6 };
    },
  };
}

const TOKENS = [1, 3, 64, 129];
const ROUTINGS: Routing[] = ['random', 'skewed', 'one-expert'];

export const moeCases: KernelCase[] = [
  routerCase(5, 8, 2, true),
  routerCase(70, 6, 2, false),
  routerCase(3, 64, 8, false),
  ...TOKENS.flatMap((tokens) => ROUTINGS.map((kind) => sortCase(tokens, kind))),
  ...TOKENS.flatMap((tokens) => ROUTINGS.map((kind) => groupedCase('f32', tokens, kind, tokens === 64 && kind === 'skewed'))),
  ...(['f16', 'bf16', 'q8', 'q4'] as WeightFormat[]).flatMap((format) => [3, 129].map((tokens) => groupedCase(format, tokens, 'skewed'))),
  ...(['f32', 'q4'] as WeightFormat[]).flatMap((format) => [{ wg: 256, lanes: 64, maxRows: 16 }, { wg: 64, lanes: 16, maxRows: 16 }].map((shape) => groupedCase(format, 3, 'random', false, shape))),
  ...(Object.keys(GGML_BLOCKS) as GgmlFormat[]).flatMap((format) => [3, 19].map((tokens) => groupedCase(format, tokens, 'random'))),
  ...[3, 19].map((tokens) => groupedCase('q4_k', tokens, 'skewed', false, undefined, 'q6_k')),
  ...(['q8_0', 'q5_1', 'q3_k'] as GgmlFormat[]).map((format) => groupedCase(format, 3, 'random', false, { wg: 64, lanes: 16, maxRows: 16 })),
  groupedCase('q4_k', 3, 'random', false, { wg: 256, lanes: 64, maxRows: 16 }, 'q6_k'),
];
