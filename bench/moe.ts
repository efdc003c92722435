/**
 * MoE and sparsity bench, all in one run on one adapter (ratios are what carry over to other GPUs):
 * - MoE decode tok/s vs a dense model with the same active parameters per token (intermediate = k * I),
 *   both built in memory with random f16 weights of matching shapes;
 * - the activation-sparse down projection (and whole MLP) at 50% live neurons vs the dense gemv path;
 * - MoE decode with half the experts resident, with and without prefetch (hit rate, upload bytes).
 * `main` runs on the Node adapter and writes bench/results/moe.json.
 */
import type { Gpu } from '../src/gpu/device';
import { ParamArena, Step } from '../src/gpu/step';
import { storageBuffer, uploadBuffer } from '../src/gpu/buffers';
import { f32ToF16Bits, packF16 } from '../src/kernels/quantize';
import type { WeightMatrix } from '../src/kernels/tensor';
import { linear } from '../src/kernels/linear';
import { swiglu } from '../src/kernels/activation';
import { sparseUpAct, spmvActive } from '../src/kernels/sparse';
import type { ModelConfig } from '../src/model/config';
import type { LayerWeights, ModelWeights } from '../src/model/weights';
import { KvCache } from '../src/model/kv_cache';
import { Transformer, denseMlp, type MlpBlock } from '../src/model/forward';
import { MoeMlp } from '../src/model/moe';
import { BarrierStep, ExpertCache } from '../src/model/expert_cache';
import { randomFloats } from '../tests/helpers/reference';

export interface MoeBench {
  adapter: string;
  isSoftware: boolean;
  model: { hidden: number; layers: number; experts: number; expertsPerToken: number; expertIntermediate: number; denseIntermediate: number };
  decodeTokens: number;
  tokPerSec: { moe: number; denseActive: number; halfResidentNoPrefetch: number; halfResidentPrefetch: number };
  expertCache: { noPrefetch: CacheFigures; prefetch: CacheFigures };
  sparseGemv: { neurons: number; hidden: number; denseMs: number; sparseMs: number; denseMlpMs: number; sparseMlpMs: number; liveFraction: number };
  ratios: { moe_vs_dense_active: number; sparse_gemv_50pct_speedup: number; sparse_mlp_50pct_speedup: number; half_resident_prefetch_vs_no_prefetch: number };
}

interface CacheFigures {
  hits: number;
  misses: number;
  hitRate: number;
  uploadBytes: number;
}

const SHAPE = { hidden: 512, layers: 4, heads: 8, kvHeads: 2, vocab: 1024, experts: 8, k: 2, intermediate: 512 };

function config(moe: boolean): ModelConfig {
  const { hidden, layers, heads, kvHeads, vocab, experts, k, intermediate } = SHAPE;
  return {
    hfArchitecture: moe ? 'MixtralForCausalLM' : 'LlamaForCausalLM', architecture: moe ? 'mixtral' : 'llama',
    hidden, intermediate: moe ? intermediate : k * intermediate, layers, heads, kvHeads, headDim: hidden / heads, vocab,
    maxPositions: 4096, ropeTheta: 10000, rmsEps: 1e-5, tieEmbeddings: true, attentionBias: false, eosTokenIds: [],
    moe: moe ? { experts, expertsPerToken: k, expertIntermediate: intermediate, normTopK: true, sparseStep: 1, mlpOnlyLayers: [], routerScore: 'softmax' } : undefined,
  };
}

let seed = 1;
function f16Matrix(gpu: Gpu, rows: number, cols: number, label: string): WeightMatrix {
  const values = randomFloats(rows * cols, seed++, 1 / Math.sqrt(cols));
  return { format: 'f16', rows, cols, label, data: uploadBuffer(gpu, label, packF16(f32ToF16Bits(values))) };
}

/** Random f16 weights of the config's shapes (the same seed gives the same weights). */
function randomWeights(gpu: Gpu, c: ModelConfig, firstSeed: number): ModelWeights {
  seed = firstSeed;
  const ones = () => uploadBuffer(gpu, 'norm', new Float32Array(c.hidden).fill(1));
  const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  const layers = Array.from({ length: c.layers }, (_, l): LayerWeights => {
    const m = (rows: number, cols: number, name: string) => f16Matrix(gpu, rows, cols, `layers.${l}.${name}`);
    const attention = { inputNorm: ones(), postAttnNorm: ones(), q: m(q, c.hidden, 'q'), k: m(kv, c.hidden, 'k'), v: m(kv, c.hidden, 'v'), o: m(c.hidden, q, 'o') };
    if (!c.moe) return { ...attention, mlp: { gate: m(c.intermediate, c.hidden, 'gate'), up: m(c.intermediate, c.hidden, 'up'), down: m(c.hidden, c.intermediate, 'down') } };
    const { experts: E, expertIntermediate: I } = c.moe;
    return { ...attention, moe: { router: m(E, c.hidden, 'router'), gate: m(E * I, c.hidden, 'gate'), up: m(E * I, c.hidden, 'up'), down: m(E * c.hidden, I, 'down') } };
  });
  const embed = f16Matrix(gpu, c.vocab, c.hidden, 'embed');
  return { embed, layers, norm: ones(), lmHead: embed, bytes: 0, format: 'f16' };
}

/** Decode tok/s: one token per submitted step (embed, layers, head), positions 0..tokens-1, after a warm-up pass. */
async function decodeRate(gpu: Gpu, c: ModelConfig, weights: ModelWeights, block: MlpBlock, tokens: number, newStep: (arena: ParamArena) => Step): Promise<number> {
  const kv = new KvCache(gpu, c.layers, c.kvHeads, c.headDim, tokens + 1);
  const model = new Transformer(gpu, c, weights, kv, 1, block);
  const ids = uploadBuffer(gpu, 'bench.ids', Uint32Array.from({ length: tokens }, (_, i) => (i * 131 + 7) % c.vocab));
  const arena = new ParamArena(gpu);
  const pass = async (pos: number) => {
    const step = newStep(arena);
    model.embed(step, ids, pos, 1);
    model.layers(step, 1, pos);
    model.head(step, 1);
    await step.submit();
  };
  await pass(0);
  await gpu.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < tokens; i++) await pass(i);
  await gpu.device.queue.onSubmittedWorkDone();
  const rate = tokens / ((performance.now() - t0) / 1000);
  model.destroy();
  kv.destroy();
  ids.destroy();
  return rate;
}

/** Median ms of `record` over `runs` submits of `iterations` recordings each. */
async function timeMs(gpu: Gpu, iterations: number, runs: number, record: (step: Step) => void): Promise<number> {
  const arena = new ParamArena(gpu);
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const step = new Step(gpu, arena);
    for (let i = 0; i < iterations; i++) record(step);
    const t0 = performance.now();
    await step.submit();
    await gpu.device.queue.onSubmittedWorkDone();
    if (r > 0) times.push((performance.now() - t0) / iterations);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** Dense down projection (gemv on W_down) and whole MLP vs the activation-sparse kernels with half the neurons live. */
async function sparseBench(gpu: Gpu, hidden: number, neurons: number, iterations: number) {
  seed = 500;
  const gateW = f16Matrix(gpu, neurons, hidden, 'gate'), upW = f16Matrix(gpu, neurons, hidden, 'up');
  const down = f16Matrix(gpu, hidden, neurons, 'down'), downT = f16Matrix(gpu, neurons, hidden, 'downT');
  const h = uploadBuffer(gpu, 'h', randomFloats(hidden, 7));
  const gate = storageBuffer(gpu, 'gate', 4 * neurons), up = storageBuffer(gpu, 'up', 4 * neurons), y = storageBuffer(gpu, 'y', 4 * hidden);
  const gateValues = randomFloats(neurons, 8, 3);
  const gateFixed = uploadBuffer(gpu, 'gate-fixed', gateValues);
  const silu = Array.from(gateValues, (g) => Math.abs(g / (1 + Math.exp(-g)))).sort((a, b) => a - b);
  const threshold = silu[Math.floor(neurons / 2)]; // half the neurons live
  const act = storageBuffer(gpu, 'act', 4 * neurons), live = storageBuffer(gpu, 'live', 4 * (2 + neurons));
  await timeMs(gpu, 1, 0, (step) => sparseUpAct(gpu, step, { x: h, gate: gateFixed, up: upW, act, threshold }));
  const denseAct = storageBuffer(gpu, 'dense-act', 4 * neurons);
  await timeMs(gpu, 1, 0, (step) => linear(gpu, step, { x: h, w: upW, y: denseAct, rows: 1 }));
  const denseMs = await timeMs(gpu, iterations, 3, (step) => linear(gpu, step, { x: denseAct, w: down, y, rows: 1 }));
  const sparseMs = await timeMs(gpu, iterations, 3, (step) => spmvActive(gpu, step, { act, live, downT, y }));
  const denseMlpMs = await timeMs(gpu, iterations, 3, (step) => {
    linear(gpu, step, { x: h, w: gateW, y: gate, rows: 1 });
    linear(gpu, step, { x: h, w: upW, y: up, rows: 1 });
    swiglu(gpu, step, { gate, up, out: denseAct, n: neurons });
    linear(gpu, step, { x: denseAct, w: down, y, rows: 1 });
  });
  const sparseMlpMs = await timeMs(gpu, iterations, 3, (step) => {
    linear(gpu, step, { x: h, w: gateW, y: gate, rows: 1 });
    sparseUpAct(gpu, step, { x: h, gate: gateFixed, up: upW, act, threshold });
    spmvActive(gpu, step, { act, live, downT, y });
  });
  return { neurons, hidden, denseMs, sparseMs, denseMlpMs, sparseMlpMs, liveFraction: 0.5 };
}

async function budgetRate(gpu: Gpu, prefetch: boolean, tokens: number): Promise<{ rate: number; figures: CacheFigures }> {
  const c = config(true);
  const weights = randomWeights(gpu, c, 100);
  const cache = await ExpertCache.create(gpu, c, weights, SHAPE.experts / 2, prefetch);
  const moe = new MoeMlp(gpu, c, weights, 1, { cache });
  const rate = await decodeRate(gpu, c, weights, moe.block, tokens, (arena) => new BarrierStep(gpu, arena));
  const { hits, misses, uploadBytes } = cache.stats;
  moe.destroy();
  cache.destroy();
  return { rate, figures: { hits, misses, hitRate: hits / Math.max(1, hits + misses), uploadBytes } };
}

export async function benchMoe(gpu: Gpu, { tokens = 24, iterations = 20 } = {}): Promise<MoeBench> {
  const plain = (arena: ParamArena) => new Step(gpu, arena);
  const moeConfig = config(true), denseConfig = config(false);
  const moeWeights = randomWeights(gpu, moeConfig, 100);
  const moe = new MoeMlp(gpu, moeConfig, moeWeights, 1);
  const moeRate = await decodeRate(gpu, moeConfig, moeWeights, moe.block, tokens, plain);
  const denseRate = await decodeRate(gpu, denseConfig, randomWeights(gpu, denseConfig, 200), denseMlp, tokens, plain);
  const noPrefetch = await budgetRate(gpu, false, tokens);
  const prefetch = await budgetRate(gpu, true, tokens);
  const sparse = await sparseBench(gpu, 1024, 2816, iterations);
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    model: { hidden: SHAPE.hidden, layers: SHAPE.layers, experts: SHAPE.experts, expertsPerToken: SHAPE.k, expertIntermediate: SHAPE.intermediate, denseIntermediate: SHAPE.k * SHAPE.intermediate },
    decodeTokens: tokens,
    tokPerSec: { moe: moeRate, denseActive: denseRate, halfResidentNoPrefetch: noPrefetch.rate, halfResidentPrefetch: prefetch.rate },
    expertCache: { noPrefetch: noPrefetch.figures, prefetch: prefetch.figures },
    sparseGemv: sparse,
    ratios: {
      moe_vs_dense_active: moeRate / denseRate,
      sparse_gemv_50pct_speedup: sparse.denseMs / sparse.sparseMs,
      sparse_mlp_50pct_speedup: sparse.denseMlpMs / sparse.sparseMlpMs,
      half_resident_prefetch_vs_no_prefetch: prefetch.rate / noPrefetch.rate,
    },
  };
}

export async function main(args: string[]): Promise<number> {
  const { nodeGpu } = await import('../src/node/gpu');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const tokens = Number(args.find((a) => a.startsWith('--tokens='))?.split('=')[1] ?? 24);
  const result = await benchMoe(await nodeGpu(), { tokens });
  console.log(JSON.stringify(result, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/moe.json', JSON.stringify(result, null, 2) + '\n');
  return 0;
}
