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
import { compactLive, liveListBytes, sparseChunks, sparseUpAct, spmvActive } from '../src/kernels/sparse';
import type { ModelConfig } from '../src/model/config';
import { llamaLayer } from '../src/model/family';
import type { HostExperts, LayerWeights, ModelWeights } from '../src/model/weights';
import { KvCache } from '../src/model/kv_cache';
import { Transformer, denseMlp, type MlpBlock } from '../src/model/forward';
import { MoeMlp } from '../src/model/moe';
import { BarrierStep, ExpertCache } from '../src/model/expert_cache';
import { randomFloats } from '../tests/helpers/reference';
import { Runtime, type RuntimeOptions } from '../src/runtime/runtime';
import type { ModelSource } from '../src/model/source';

export interface MoeBench {
  adapter: string;
  isSoftware: boolean;
  model: { hidden: number; layers: number; experts: number; expertsPerToken: number; expertIntermediate: number; denseIntermediate: number };
  decodeTokens: number;
  tokPerSec: { moe: number; denseActive: number; halfResidentNoPrefetch: number; halfResidentPrefetch: number };
  expertCache: { noPrefetch: CacheFigures; prefetch: CacheFigures };
  /** the same with the trained tiny-moe (realistic routing), through the Runtime, when a source is given */
  trainedModel?: { model: string; decodeTokens: number; tokPerSec: { allResident: number; halfResidentNoPrefetch: number; halfResidentPrefetch: number }; expertCache: { noPrefetch: CacheFigures; prefetch: CacheFigures } };
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
    maxPositions: 4096, rmsEps: 1e-5, normOffset: 0, embedScale: 1, logitSoftcap: 0, tieEmbeddings: true, eosTokenIds: [],
    moe: moe ? { experts, expertsPerToken: k, expertIntermediate: intermediate, normTopK: true, routerScore: 'softmax' } : undefined,
    recipe: Array.from({ length: layers }, () => llamaLayer({ headDim: hidden / heads }, { theta: 10000 }, moe ? 'moe' : 'dense')),
  };
}

let seed = 1;
function f16Matrix(gpu: Gpu, rows: number, cols: number, label: string): WeightMatrix {
  const values = randomFloats(rows * cols, seed++, 1 / Math.sqrt(cols));
  return { format: 'f16', rows, cols, label, data: uploadBuffer(gpu, label, packF16(f32ToF16Bits(values))) };
}

/** Random f16 experts [experts*rows, cols] laid out as the budgeted loader leaves them: experts 0..resident-1 on the GPU, all in CPU memory. */
function f16Experts(gpu: Gpu, experts: number, rows: number, cols: number, label: string, resident: number): { matrix: WeightMatrix; host: HostExperts } {
  const values = randomFloats(experts * rows * cols, seed++, 1 / Math.sqrt(cols));
  const data = new Uint8Array(packF16(f32ToF16Bits(values)).buffer as ArrayBuffer);
  const dataBytes = 2 * rows * cols;
  const matrix: WeightMatrix = { format: 'f16', rows: resident * rows, cols, label, data: uploadBuffer(gpu, label, data.subarray(0, resident * dataBytes)) };
  return { matrix, host: { data, dataBytes, scaleBytes: 0 } };
}

/** Random f16 weights of the config's shapes (the same seed gives the same weights); `resident` sets an expert budget. */
function randomWeights(gpu: Gpu, c: ModelConfig, firstSeed: number, resident?: number): ModelWeights {
  seed = firstSeed;
  const ones = () => uploadBuffer(gpu, 'norm', new Float32Array(c.hidden).fill(1));
  const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  const layers = Array.from({ length: c.layers }, (_, l): LayerWeights => {
    const m = (rows: number, cols: number, name: string) => f16Matrix(gpu, rows, cols, `layers.${l}.${name}`);
    const attention = { inputNorm: ones(), mlpNorm: ones(), q: m(q, c.hidden, 'q'), k: m(kv, c.hidden, 'k'), v: m(kv, c.hidden, 'v'), o: m(c.hidden, q, 'o') };
    if (!c.moe) return { ...attention, mlp: { gate: m(c.intermediate, c.hidden, 'gate'), up: m(c.intermediate, c.hidden, 'up'), down: m(c.hidden, c.intermediate, 'down') } };
    const { experts: E, expertIntermediate: I } = c.moe;
    const router = m(E, c.hidden, 'router');
    if (resident === undefined) return { ...attention, moe: { router, gate: m(E * I, c.hidden, 'gate'), up: m(E * I, c.hidden, 'up'), down: m(E * c.hidden, I, 'down') } };
    const x = (rows: number, cols: number, name: string) => f16Experts(gpu, E, rows, cols, `layers.${l}.${name}`, resident);
    const [gate, up, down] = [x(I, c.hidden, 'gate'), x(I, c.hidden, 'up'), x(c.hidden, I, 'down')];
    const offloaded = { resident, gate: gate.host, up: up.host, down: down.host };
    return { ...attention, moe: { router, gate: gate.matrix, up: up.matrix, down: down.matrix, offloaded } };
  });
  const embed = f16Matrix(gpu, c.vocab, c.hidden, 'embed');
  return { embed, layers, norm: ones(), lmHead: embed, bytes: 0, buffers: [], format: 'f16' };
}

/** One decode pass at a position: embed, layers, head, one submitted step. */
type DecodePass = (pos: number) => Promise<void>;

function decoder(gpu: Gpu, c: ModelConfig, weights: ModelWeights, block: MlpBlock, tokens: number, newStep: (arena: ParamArena) => Step): DecodePass {
  const kv = new KvCache(gpu, c.layers, c.kvHeads, c.headDim, tokens + 1);
  const model = new Transformer(gpu, c, weights, kv, 1, block);
  const ids = uploadBuffer(gpu, 'bench.ids', Uint32Array.from({ length: tokens }, (_, i) => (i * 131 + 7) % c.vocab));
  const arena = new ParamArena(gpu);
  return async (pos) => {
    const step = newStep(arena);
    model.embed(step, ids, pos, 1);
    model.layers(step, 1, pos);
    model.head(step, 1);
    await step.submit();
    await gpu.device.queue.onSubmittedWorkDone();
  };
}

/**
 * Decode tok/s of each decoder from the median per-token time. The decoders take turns token by token
 * (`rounds` times over positions 0..tokens-1), so load from other processes on a shared machine hits all
 * of them alike.
 */
async function interleavedRates(decoders: DecodePass[], tokens: number, rounds = 3): Promise<number[]> {
  const times: number[][] = decoders.map(() => []);
  for (const pass of decoders) await pass(0);
  for (let r = 0; r < rounds; r++) {
    for (let pos = 0; pos < tokens; pos++) {
      for (const [d, pass] of decoders.entries()) {
        const t0 = performance.now();
        await pass(pos);
        times[d].push(performance.now() - t0);
      }
    }
  }
  return times.map((t) => 1000 / t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

/** Median ms per recording of each of `records`, taking turns over `rounds` submits of `iterations` recordings (after one warm-up). */
async function interleavedMs(gpu: Gpu, records: ((step: Step) => void)[], iterations: number, rounds = 15): Promise<number[]> {
  const arena = new ParamArena(gpu);
  const times: number[][] = records.map(() => []);
  for (let r = 0; r <= rounds; r++) {
    for (const [d, record] of records.entries()) {
      const step = new Step(gpu, arena);
      for (let i = 0; i < iterations; i++) record(step);
      const t0 = performance.now();
      await step.submit();
      await gpu.device.queue.onSubmittedWorkDone();
      if (r > 0) times[d].push((performance.now() - t0) / iterations);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

async function runOnce(gpu: Gpu, record: (step: Step) => void): Promise<void> {
  const step = new Step(gpu, new ParamArena(gpu));
  record(step);
  await step.submit();
}

/** Dense down projection (gemv on W_down) and whole MLP vs the activation-sparse kernels with half the neurons live. */
async function sparseBench(gpu: Gpu, hidden: number, neurons: number, iterations: number) {
  seed = 500;
  const gateW = f16Matrix(gpu, neurons, hidden, 'gate'), upW = f16Matrix(gpu, neurons, hidden, 'up');
  const down = f16Matrix(gpu, hidden, neurons, 'down'), downT = f16Matrix(gpu, neurons, hidden, 'downT');
  const h = uploadBuffer(gpu, 'h', randomFloats(hidden, 7));
  const gate = storageBuffer(gpu, 'gate', 4 * neurons), y = storageBuffer(gpu, 'y', 4 * hidden);
  const gateValues = randomFloats(neurons, 8, 3);
  const gateFixed = uploadBuffer(gpu, 'gate-fixed', gateValues);
  const silu = Array.from(gateValues, (g) => Math.abs(g / (1 + Math.exp(-g)))).sort((a, b) => a - b);
  const threshold = silu[Math.floor(neurons / 2)]; // half the neurons live
  const live = storageBuffer(gpu, 'live', liveListBytes(neurons));
  const partial = storageBuffer(gpu, 'partial', 4 * sparseChunks(neurons) * hidden);
  const denseAct = storageBuffer(gpu, 'dense-act', 4 * neurons);
  await runOnce(gpu, (step) => {
    sparseUpAct(gpu, step, { x: h, gate: gateFixed, up: upW, live, threshold });
    linear(gpu, step, { x: h, w: upW, y: denseAct, rows: 1 });
  });
  const [denseMs, sparseMs, denseMlpMs, sparseMlpMs] = await interleavedMs(gpu, [
    (step) => linear(gpu, step, { x: denseAct, w: down, y, rows: 1 }),
    (step) => {
      // the down projection's share of the sparse path: listing the live neurons, then reading only their rows
      // (without the up step the list holds silu(gate) where the activations would be: the same work)
      compactLive(gpu, step, { gate: gateFixed, live, threshold, neurons });
      spmvActive(gpu, step, { live, partial, downT, y });
    },
    (step) => {
      // the model's dense MLP (forward.ts denseMlp): the activation fused into the up projection
      linear(gpu, step, { x: h, w: gateW, y: gate, rows: 1 });
      linear(gpu, step, { x: h, w: upW, y: denseAct, rows: 1, gate });
      linear(gpu, step, { x: denseAct, w: down, y, rows: 1 });
    },
    (step) => {
      linear(gpu, step, { x: h, w: gateW, y: gate, rows: 1 });
      sparseUpAct(gpu, step, { x: h, gate: gateFixed, up: upW, live, threshold });
      spmvActive(gpu, step, { live, partial, downT, y });
    },
  ], iterations);
  return { neurons, hidden, denseMs, sparseMs, denseMlpMs, sparseMlpMs, liveFraction: 0.5 };
}

/** Greedy decode through the Runtime with all experts resident, and with half of them with and without prefetch. */
async function trainedBudget(gpu: Gpu, source: ModelSource, name: string, tokens: number): Promise<NonNullable<MoeBench['trainedModel']>> {
  const run = async (options: RuntimeOptions) => {
    const runtime = await Runtime.load(gpu, source, { contextLength: 256, ...options });
    const { stats } = await runtime.generate({ prompt: 'Once upon a time', maxTokens: tokens, stopAtEos: false }, () => undefined);
    const hits = stats.expertCacheHits ?? 0, misses = stats.expertCacheMisses ?? 0;
    const figures = { hits, misses, hitRate: hits / Math.max(1, hits + misses), uploadBytes: stats.expertUploadBytes ?? 0 };
    return { rate: (stats.decodeTokens / stats.decodeMs) * 1000, figures, experts: runtime.config.moe!.experts };
  };
  const all = await run({});
  const half = all.experts / 2;
  const noPrefetch = await run({ maxResidentExperts: half, prefetchExperts: false });
  const prefetch = await run({ maxResidentExperts: half, prefetchExperts: true });
  return {
    model: name, decodeTokens: tokens,
    tokPerSec: { allResident: all.rate, halfResidentNoPrefetch: noPrefetch.rate, halfResidentPrefetch: prefetch.rate },
    expertCache: { noPrefetch: noPrefetch.figures, prefetch: prefetch.figures },
  };
}

/** The random MoE model (the same weights) with half its experts resident. */
async function budgetDecoder(gpu: Gpu, prefetch: boolean, tokens: number): Promise<{ pass: DecodePass; cache: ExpertCache }> {
  const c = config(true);
  const weights = randomWeights(gpu, c, 100, SHAPE.experts / 2);
  const cache = ExpertCache.create(gpu, c, weights, prefetch)!;
  const moe = new MoeMlp(gpu, c, weights, 1, { cache });
  return { pass: decoder(gpu, c, weights, moe.block, tokens, (arena) => new BarrierStep(gpu, arena)), cache };
}

function cacheFigures(cache: ExpertCache): CacheFigures {
  const { hits, misses, uploadBytes } = cache.stats;
  return { hits, misses, hitRate: hits / Math.max(1, hits + misses), uploadBytes };
}

/**
 * Runtimes are not disposed (disposing destroys the shared device): `trained` runs last.
 * `trained`: a trained MoE model (tiny-moe) whose routing is realistic, for the expert budget.
 */
export async function benchMoe(gpu: Gpu, { tokens = 24, iterations = 4, trained }: { tokens?: number; iterations?: number; trained?: { source: ModelSource; name: string } } = {}): Promise<MoeBench> {
  const plain = (arena: ParamArena) => new Step(gpu, arena);
  const moeConfig = config(true), denseConfig = config(false);
  const moeWeights = randomWeights(gpu, moeConfig, 100);
  const moe = decoder(gpu, moeConfig, moeWeights, new MoeMlp(gpu, moeConfig, moeWeights, 1).block, tokens, plain);
  const dense = decoder(gpu, denseConfig, randomWeights(gpu, denseConfig, 200), denseMlp, tokens, plain);
  const [moeRate, denseRate] = await interleavedRates([moe, dense], tokens);
  const budgets = [await budgetDecoder(gpu, false, tokens), await budgetDecoder(gpu, true, tokens)];
  const [noPrefetchRate, prefetchRate] = await interleavedRates(budgets.map((b) => b.pass), tokens);
  const [noPrefetch, prefetch] = budgets.map((b) => cacheFigures(b.cache));
  const sparse = await sparseBench(gpu, 1024, 2816, iterations);
  const trainedModel = trained && (await trainedBudget(gpu, trained.source, trained.name, 2 * tokens));
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    model: { hidden: SHAPE.hidden, layers: SHAPE.layers, experts: SHAPE.experts, expertsPerToken: SHAPE.k, expertIntermediate: SHAPE.intermediate, denseIntermediate: SHAPE.k * SHAPE.intermediate },
    decodeTokens: tokens,
    tokPerSec: { moe: moeRate, denseActive: denseRate, halfResidentNoPrefetch: noPrefetchRate, halfResidentPrefetch: prefetchRate },
    expertCache: { noPrefetch, prefetch },
    sparseGemv: sparse,
    ...(trainedModel && { trainedModel }),
    ratios: {
      moe_vs_dense_active: moeRate / denseRate,
      sparse_gemv_50pct_speedup: sparse.denseMs / sparse.sparseMs,
      sparse_mlp_50pct_speedup: sparse.denseMlpMs / sparse.sparseMlpMs,
      half_resident_prefetch_vs_no_prefetch: prefetchRate / noPrefetchRate,
    },
  };
}

export async function main(args: string[]): Promise<number> {
  const { nodeGpu } = await import('../src/node/gpu');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const tokens = Number(args.find((a) => a.startsWith('--tokens='))?.split('=')[1] ?? 24);
  const { directorySource } = await import('../src/node/source');
  const trained = { source: directorySource('public/models/tiny-moe'), name: 'tiny-moe' };
  const result = await benchMoe(await nodeGpu(), { tokens, trained });
  console.log(JSON.stringify(result, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/moe.json', JSON.stringify(result, null, 2) + '\n');
  return 0;
}
