import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { unusedBinding } from '../gpu/buffers';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';
import { GEMV_MAX_ROWS, type GemvShape } from '../gpu/tuning';
import { denseFormat, FORMAT_ID, GGML_BLOCKS, isGgmlFormat, type WeightMatrix } from './tensor';

/** `slots` entry of an expert with no weights bound in this round. */
export const NO_SLOT = 0xffffffff;
/** Upper bound on experts per layer (one workgroup scans the counts). */
export const MAX_EXPERTS = 256;

/** Where the parts of a routing plan (see shaders/moe/expert_count_scan.wgsl) live, in u32 words. */
export interface PlanLayout {
  pairs: number;
  experts: number;
  tileRows: number;
  maxTiles: number;
  tilesAt: number;
  sortedAt: number;
  inverseAt: number;
  words: number;
}

export function planLayout(gpu: Gpu, pairs: number, experts: number): PlanLayout {
  if (experts > MAX_EXPERTS) throw new Error(`MoE with ${experts} experts: at most ${MAX_EXPERTS} are supported`);
  const tileRows = 4 * gpu.tuning.expertGemm.TY;
  const maxTiles = Math.ceil(pairs / tileRows) + experts;
  const tilesAt = experts + 1;
  const sortedAt = tilesAt + 3 * maxTiles;
  const inverseAt = sortedAt + pairs;
  return { pairs, experts, tileRows, maxTiles, tilesAt, sortedAt, inverseAt, words: inverseAt + pairs };
}

export interface RouterArgs {
  logits: GPUBuffer; // [tokens, experts] f32
  ids: GPUBuffer; // [tokens, k] u32 out
  weights: GPUBuffer; // [tokens, k] f32 out
  tokens: number;
  experts: number;
  k: number;
  normTopK: boolean;
}

/** Softmax over the router logits, top-k experts per token, optional renormalisation. */
export function routerTopK(gpu: Gpu, step: Step, a: RouterArgs): void {
  const WG = 64;
  const k = kernel(gpu, { shader: 'moe/router_topk', overrides: { WG } });
  if (a.experts > MAX_EXPERTS || a.k > a.experts) throw new Error(`router: top-${a.k} of ${a.experts} experts is not supported`);
  step.dispatch(k, [a.logits, a.ids, a.weights], { tokens: a.tokens, experts: a.experts, k: a.k, norm_topk: a.normTopK ? 1 : 0 }, [Math.ceil(a.tokens / WG)]);
}

/** Counting sort of the pairs by expert: histogram + prefix scan + tile table, then the stable scatter. */
export function sortPairs(gpu: Gpu, step: Step, ids: GPUBuffer, plan: GPUBuffer, layout: PlanLayout): void {
  const scan = kernel(gpu, { shader: 'moe/expert_count_scan', overrides: { WG: MAX_EXPERTS } });
  const { pairs, experts } = layout;
  step.dispatch(scan, [ids, plan], { pairs, experts, tile_rows: layout.tileRows, max_tiles: layout.maxTiles, tiles_at: layout.tilesAt }, [1]);
  const WG = 64;
  const scatter = kernel(gpu, { shader: 'moe/expert_scatter', overrides: { WG } });
  step.dispatch(scatter, [ids, plan], { pairs, experts, sorted_at: layout.sortedAt, inverse_at: layout.inverseAt }, [Math.ceil(pairs / WG)]);
}

/** Stacked expert weights: expert e's rows of each matrix are block `slots[e]` (gate/up [I rows], down [hidden rows]). */
export interface ExpertSet {
  gate: WeightMatrix; // [blocks * I, hidden]
  up: WeightMatrix; // [blocks * I, hidden]
  down: WeightMatrix; // [blocks * hidden, I]
  slots: GPUBuffer; // [experts] u32 block of each expert, or NO_SLOT
  intermediate: number;
  hidden: number;
}

export interface ExpertMlpArgs {
  h: GPUBuffer; // [tokens, hidden] f32 normed input
  ids: GPUBuffer; // [tokens, k] u32
  tokens: number;
  k: number;
  experts: ExpertSet;
  act: GPUBuffer; // [tokens*k, I] f32 scratch
  out: GPUBuffer; // [tokens*k, hidden] f32: down projections, in pair order (decode) or sorted order (prefill)
  plan: GPUBuffer; // routing plan (prefill)
  layout: PlanLayout;
}

/** Up to this many tokens the experts run as per-pair gemvs (each row's result independent of the count). */
export const EXPERT_GEMV_MAX_TOKENS = GEMV_MAX_ROWS;

/** true when `expertMlp` writes `out` in sorted order (the combine then gathers through the inverse permutation). */
export const usesSortedOrder = (tokens: number) => tokens > EXPERT_GEMV_MAX_TOKENS;

/**
 * The routed experts' SwiGLU MLPs for every (token, expert) pair: per-pair gemvs for a few tokens, else
 * the grouped GEMM over pairs sorted by `sortPairs` (which must have run on `ids` into `plan`).
 * Pairs whose expert has slot NO_SLOT are left untouched (expert offloading runs them in a later round).
 */
export function expertMlp(gpu: Gpu, step: Step, a: ExpertMlpArgs, gemv: GemvShape = gpu.tuning.gemv): void {
  const { gate, up, down, slots, intermediate: I, hidden } = a.experts;
  checkExperts(a.experts);
  const pairs = a.tokens * a.k;
  if (!usesSortedOrder(a.tokens)) {
    expertGemv(gpu, step, { mode: 0, x: a.h, ids: a.ids, slots, wa: gate, wb: up, out: a.act, pairs, n: I, cols: hidden, xGroup: a.k }, gemv);
    expertGemv(gpu, step, { mode: 1, x: a.act, ids: a.ids, slots, wa: down, out: a.out, pairs, n: hidden, cols: I, xGroup: 1 }, gemv);
    return;
  }
  const { layout } = a;
  expertGemm(gpu, step, { mode: 0, x: a.h, plan: a.plan, slots, wa: gate, wb: up, out: a.act, n: I, cols: hidden, k: a.k, gatherX: true, layout });
  expertGemm(gpu, step, { mode: 1, x: a.act, plan: a.plan, slots, wa: down, out: a.out, n: hidden, cols: I, k: a.k, gatherX: false, layout });
}

function checkExperts(s: ExpertSet): void {
  // the fused gate/up pass reads both in one format; down runs alone (GGUF Q4_K_M files store it in another)
  if (s.gate.format !== s.up.format) throw new Error(`experts ${s.gate.label}: gate and up must share one format, got ${s.gate.format}, ${s.up.format}`);
  if (s.hidden % 8 !== 0 || s.intermediate % 8 !== 0) throw new Error(`experts ${s.gate.label}: hidden ${s.hidden} and intermediate ${s.intermediate} must be multiples of 8`);
  for (const w of [s.gate, s.down]) {
    if (isGgmlFormat(w.format) && w.cols % GGML_BLOCKS[w.format].elements !== 0) throw new Error(`experts ${w.label}: ${w.format} rows of ${w.cols} are not whole blocks`);
  }
}

/** The weight-format overrides of the expert kernels: a dense FORMAT, or GGUF blocks (GGML). */
function formatOverrides(w: WeightMatrix): { FORMAT: number; GGUF?: number; GGML?: number } {
  if (isGgmlFormat(w.format)) return { FORMAT: 0, GGUF: 1, GGML: GGML_BLOCKS[w.format].code };
  return { FORMAT: FORMAT_ID[denseFormat(w, 'expert kernels')] };
}

interface ProjectionArgs {
  mode: number; // 0 fused gate/up + silu, 1 single projection
  x: GPUBuffer;
  slots: GPUBuffer;
  wa: WeightMatrix;
  wb?: WeightMatrix;
  out: GPUBuffer;
  n: number;
  cols: number;
}

function weightBuffers(gpu: Gpu, a: ProjectionArgs): GPUBuffer[] {
  const unused = unusedBinding(gpu);
  return [a.wa.data, a.wa.scales ?? unused, a.wb?.data ?? unused, a.wb?.scales ?? unused];
}

/** Output rows per expert_gemv invocation group (OUTPUTS in shaders/moe/expert_gemv.wgsl). */
const EXPERT_GEMV_OUTPUTS = 4;

function expertGemv(gpu: Gpu, step: Step, a: ProjectionArgs & { ids: GPUBuffer; pairs: number; xGroup: number }, shape: GemvShape): void {
  const { wg, lanes } = shape;
  const params = { pairs: a.pairs, n: a.n, cols: a.cols, x_group: a.xGroup };
  if (isGgmlFormat(a.wa.format)) {
    // one output row per LANES invocations (shaders/moe/expert_gemv_gguf.wgsl)
    const g = kernel(gpu, { shader: 'moe/expert_gemv_gguf', overrides: { GGML: GGML_BLOCKS[a.wa.format].code, MODE: a.mode, WG: wg, LANES: lanes } });
    const [gx, gy = 1] = grid1d(gpu, Math.ceil(a.n / (wg / lanes)));
    step.dispatch(g, [a.x, a.ids, a.slots, a.wa.data, a.wb?.data ?? unusedBinding(gpu), a.out], params, [gx, gy, a.pairs]);
    return;
  }
  const k = kernel(gpu, {
    shader: 'moe/expert_gemv',
    overrides: { FORMAT: FORMAT_ID[denseFormat(a.wa, 'expert kernels')], MODE: a.mode, WG: wg, LANES: lanes },
  });
  const [gx, gy = 1] = grid1d(gpu, Math.ceil(a.n / EXPERT_GEMV_OUTPUTS / (wg / lanes)));
  step.dispatch(k, [a.x, a.ids, a.slots, ...weightBuffers(gpu, a), a.out], params, [gx, gy, a.pairs]);
}

function expertGemm(gpu: Gpu, step: Step, a: ProjectionArgs & { plan: GPUBuffer; k: number; gatherX: boolean; layout: PlanLayout }): void {
  const { TX, TY } = gpu.tuning.expertGemm;
  const k = kernel(gpu, { shader: 'moe/expert_gemm', overrides: { ...formatOverrides(a.wa), MODE: a.mode, TX, TY } });
  const params = { n: a.n, cols: a.cols, k: a.k, gather_x: a.gatherX ? 1 : 0, tiles_at: a.layout.tilesAt, sorted_at: a.layout.sortedAt };
  step.dispatch(k, [a.x, a.plan, a.slots, ...weightBuffers(gpu, a), a.out], params, [Math.ceil(a.n / (4 * TX)), a.layout.maxTiles]);
}

export interface CombineArgs {
  weights: GPUBuffer; // [tokens, k] f32
  plan: GPUBuffer;
  layout: PlanLayout;
  expertOut: GPUBuffer; // [tokens*k, hidden] f32
  x: GPUBuffer; // [tokens, hidden] f32, accumulated into
  tokens: number;
  k: number;
  hidden: number;
  /** Qwen2-MoE: shared expert output [tokens, hidden] and its gate logits [tokens] */
  shared?: { out: GPUBuffer; gate: GPUBuffer };
}

/** x += Σ_j w[t, j] * expertOut[pair (t, j)] (+ sigmoid(gate) * shared), gathering; deterministic. */
export function moeCombine(gpu: Gpu, step: Step, a: CombineArgs): void {
  const WG = 64;
  const k = kernel(gpu, { shader: 'moe/combine', overrides: { WG } });
  const unused = unusedBinding(gpu);
  const params = {
    tokens: a.tokens, k: a.k, hidden: a.hidden, sorted: usesSortedOrder(a.tokens) ? 1 : 0,
    inverse_at: a.layout.inverseAt, has_shared: a.shared ? 1 : 0,
  };
  const buffers = [a.weights, a.plan, a.expertOut, a.shared?.out ?? unused, a.shared?.gate ?? unused, a.x];
  step.dispatch(k, buffers, params, grid1d(gpu, Math.ceil((a.tokens * a.hidden) / WG)));
}
