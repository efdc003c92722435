import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { storageBuffer, uploadBuffer } from '../gpu/buffers';
import { linear } from '../kernels/linear';
import { expertMlp, moeCombine, planLayout, routerTopK, sortPairs, usesSortedOrder, type ExpertSet, type PlanLayout } from '../kernels/moe';
import { isMoeLayer, type ModelConfig, type MoeConfig } from './config';
import type { ModelWeights } from './weights';
import { denseMlp, type BlockOutput, type MlpBlock, type Transformer } from './forward';
import { BarrierStep, ExpertCache } from './expert_cache';
import { ParamArena, stepFactory } from '../gpu/step';
import { SparseMlp } from './sparsity';
import type { Profiler } from '../gpu/profile';
import type { GenerateStats } from '../contract/types';

/** GPU scratch of the MoE block for passes of up to `rows` tokens, allocated once. */
class MoeScratch {
  readonly logits: GPUBuffer; // [rows, experts] f32 router logits
  readonly ids: GPUBuffer; // [rows, k] u32 chosen experts
  readonly weights: GPUBuffer; // [rows, k] f32 gate weights
  readonly plan: GPUBuffer; // routing plan (kernels/moe.ts PlanLayout)
  readonly act: GPUBuffer; // [rows*k, expertIntermediate] f32 silu(gate) * up per pair
  readonly out: GPUBuffer; // [rows*k, hidden] f32 expert outputs per pair
  readonly sharedOut: GPUBuffer; // [rows, hidden] f32 shared expert output
  readonly sharedGate: GPUBuffer; // [rows] f32 shared expert gate logits
  readonly predictedLogits: GPUBuffer; // [rows, experts] f32 next layer's router on this layer's input
  readonly predictedIds: GPUBuffer; // [rows, k] u32
  readonly predictedWeights: GPUBuffer; // [rows, k] f32
  readonly layouts = new Map<number, PlanLayout>();

  constructor(private readonly gpu: Gpu, moe: MoeConfig, hidden: number, readonly rows: number) {
    const f32 = (label: string, n: number) => storageBuffer(gpu, `moe.${label}`, 4 * n);
    const pairs = rows * moe.expertsPerToken;
    this.logits = f32('logits', rows * moe.experts);
    this.ids = f32('ids', pairs);
    this.weights = f32('weights', pairs);
    this.plan = f32('plan', planLayout(gpu, pairs, moe.experts).words);
    this.act = f32('act', pairs * moe.expertIntermediate);
    this.out = f32('out', pairs * hidden);
    this.sharedOut = f32('sharedOut', moe.sharedExpertIntermediate ? rows * hidden : 1);
    this.sharedGate = f32('sharedGate', moe.sharedExpertIntermediate ? rows : 1);
    this.predictedLogits = f32('predictedLogits', rows * moe.experts);
    this.predictedIds = f32('predictedIds', pairs);
    this.predictedWeights = f32('predictedWeights', pairs);
  }

  /** The plan layout for `tokens` tokens (offsets depend on the pair count). */
  layout(tokens: number, moe: MoeConfig): PlanLayout {
    let l = this.layouts.get(tokens);
    if (!l) this.layouts.set(tokens, (l = planLayout(this.gpu, tokens * moe.expertsPerToken, moe.experts)));
    return l;
  }

  destroy(): void {
    for (const b of Object.values(this)) if (b && typeof b === 'object' && 'destroy' in b) (b as GPUBuffer).destroy();
  }
}

export interface MoeMlpOptions {
  /** MLP of the dense layers (decoder_sparse_step / mlp_only_layers); default the dense SwiGLU */
  dense?: MlpBlock;
  /** expert memory budget: experts stream from CPU memory into per-layer slots */
  cache?: ExpertCache;
}

/**
 * The sparse MLP of Mixtral / Qwen2-MoE layers as an MlpBlock:
 *   ids, w = topk(softmax(router(h)))            (renormalised when normTopK)
 *   x += Σ_j w_j · expert_{ids_j}(h)  (+ sigmoid(sharedGate·h) · sharedExpert(h))
 * Routing stays on the GPU: a few tokens run per-pair expert gemvs reading the ids from a buffer; more
 * tokens are counting-sorted by expert and run one grouped GEMM. With an expert cache, the expert part runs
 * in rounds of resident experts separated by step barriers (the only place ids come back to the CPU).
 */
export class MoeMlp {
  readonly block: MlpBlock;
  private readonly scratch: MoeScratch;
  private readonly sets: (ExpertSet | undefined)[];

  constructor(private readonly gpu: Gpu, private readonly config: ModelConfig, private readonly weights: ModelWeights, rows: number, private readonly opts: MoeMlpOptions = {}) {
    const moe = config.moe;
    if (!moe) throw new Error(`${config.hfArchitecture} has no mixture-of-experts layers`);
    this.scratch = new MoeScratch(gpu, moe, config.hidden, rows);
    const identity = uploadBuffer(gpu, 'moe.identitySlots', Uint32Array.from({ length: moe.experts }, (_, e) => e));
    this.sets = weights.layers.map((w) => w.moe && {
      gate: w.moe.gate, up: w.moe.up, down: w.moe.down, slots: identity, intermediate: moe.expertIntermediate, hidden: config.hidden,
    });
    this.block = (t, step, layer, count, out) => this.record(t, step, layer, count, out);
  }

  private record(t: Transformer, step: Step, l: number, count: number, out: BlockOutput): void {
    if (!isMoeLayer(this.config, l)) return (this.opts.dense ?? denseMlp)(t, step, l, count, out);
    if (out.y !== t.act.x || !out.accumulate) throw new Error(`layer ${l}: the MoE block adds into the residual stream only (no post-MLP norm)`);
    const { gpu, config, scratch: s } = this;
    const moe = config.moe!;
    const w = this.weights.layers[l].moe!;
    const h = t.mlpInput(step, l, count);
    const k = moe.expertsPerToken;
    const layout = s.layout(count, moe);
    linear(gpu, step, { x: h, w: w.router, y: s.logits, rows: count });
    routerTopK(gpu, step, { logits: s.logits, ids: s.ids, weights: s.weights, tokens: count, experts: moe.experts, k, normTopK: moe.normTopK });
    if (usesSortedOrder(count)) sortPairs(gpu, step, s.ids, s.plan, layout);
    const run = (experts: ExpertSet) => expertMlp(gpu, step, { h, ids: s.ids, tokens: count, k, experts, act: s.act, out: s.out, plan: s.plan, layout });
    if (this.opts.cache) this.opts.cache.record(step, l, { count, k, ids: s.ids, predicted: this.prediction(step, h, l + 1, count) }, run);
    else run(this.sets[l]!);
    const shared = w.shared && w.sharedGate ? this.sharedExpert(t, step, l, count) : undefined;
    moeCombine(gpu, step, { weights: s.weights, plan: s.plan, layout, expertOut: s.out, x: t.act.x, tokens: count, k, hidden: config.hidden, shared });
  }

  /** Pre-gating: layer `next`'s router applied to this layer's input predicts its experts (ExpertFlow/Read-ME style). */
  private prediction(step: Step, h: GPUBuffer, next: number, count: number): GPUBuffer | undefined {
    const cache = this.opts.cache!;
    if (!cache.prefetch || next >= this.config.layers || !isMoeLayer(this.config, next)) return undefined;
    const { gpu, scratch: s } = this;
    const moe = this.config.moe!;
    linear(gpu, step, { x: h, w: this.weights.layers[next].moe!.router, y: s.predictedLogits, rows: count });
    routerTopK(gpu, step, { logits: s.predictedLogits, ids: s.predictedIds, weights: s.predictedWeights, tokens: count, experts: moe.experts, k: moe.expertsPerToken, normTopK: false });
    return s.predictedIds;
  }

  /** Qwen2-MoE shared expert: out = down(silu(gate(h)) * up(h)), gate logit = sharedGate · h. */
  private sharedExpert(t: Transformer, step: Step, l: number, count: number): { out: GPUBuffer; gate: GPUBuffer } {
    const { gpu, scratch: s } = this;
    const { act } = t;
    const w = this.weights.layers[l].moe!;
    const shared = w.shared!;
    linear(gpu, step, { x: act.h, w: shared.gate, y: act.gate, rows: count });
    linear(gpu, step, { x: act.h, w: shared.up, y: act.act, rows: count, gate: act.gate });
    linear(gpu, step, { x: act.act, w: shared.down, y: s.sharedOut, rows: count });
    linear(gpu, step, { x: act.h, w: w.sharedGate!, y: s.sharedGate, rows: count });
    return { out: s.sharedOut, gate: s.sharedGate };
  }

  destroy(): void {
    this.scratch.destroy();
    this.sets.find(Boolean)?.slots.destroy();
  }
}

export interface MlpOptions {
  /** with an expert budget (weights loaded with residentExperts): prefetch the next layer's predicted experts (default true) */
  prefetchExperts?: boolean;
  /** activation sparsity of the dense MLPs: fraction of neurons skipped in decode */
  sparsity?: { mlp: number };
}

/**
 * The MLP sub-block a model runs with the engine options: dense SwiGLU (optionally activation-sparse), or
 * the MoE block (with an expert memory budget when the weights were loaded with one). Also supplies the
 * steps it needs and its stats.
 */
export class MlpBlocks {
  private constructor(readonly block: MlpBlock, readonly sparse?: SparseMlp, private readonly moe?: MoeMlp, private readonly cache?: ExpertCache) {}

  static async create(gpu: Gpu, config: ModelConfig, weights: ModelWeights, rows: number, opts: MlpOptions = {}): Promise<MlpBlocks> {
    const target = opts.sparsity?.mlp ?? 0;
    const sparse = target > 0 ? await SparseMlp.create(gpu, config, weights, target) : undefined;
    const dense = sparse?.block ?? denseMlp;
    if (!config.moe) return new MlpBlocks(dense, sparse);
    const cache = ExpertCache.create(gpu, config, weights, opts.prefetchExperts ?? true);
    const moe = new MoeMlp(gpu, config, weights, rows, { cache, dense });
    return new MlpBlocks(moe.block, sparse, moe, cache);
  }

  /** Calibrate the sparsity thresholds on the model (no-op without sparsity). `encode` tokenizes text when the model has a tokenizer. */
  async calibrate(model: Transformer, encode?: (text: string) => number[]): Promise<void> {
    if (!this.sparse) return;
    const tokens = SparseMlp.calibrationTokens(model.config.vocab, encode);
    await this.sparse.calibrate(model, tokens, this.stepFactory(model.gpu, new ParamArena(model.gpu)));
  }

  /** Steps for this model: with an expert budget they pause at barriers to stream experts in. */
  stepFactory(gpu: Gpu, arena: ParamArena, profiler?: Profiler): () => Step {
    return this.cache ? () => new BarrierStep(gpu, arena, profiler) : stepFactory(gpu, arena, profiler);
  }

  /** Counters since the last reset, in GenerateStats terms. */
  async stats(): Promise<Partial<GenerateStats>> {
    const out: Partial<GenerateStats> = {};
    if (this.sparse) out.mlpSparsity = await this.sparse.skippedFraction();
    if (this.cache) {
      const { hits, misses, prefetches, uploadBytes } = this.cache.stats;
      Object.assign(out, { expertCacheHits: hits, expertCacheMisses: misses, expertPrefetches: prefetches, expertUploadBytes: uploadBytes });
    }
    return out;
  }

  resetStats(): void {
    this.sparse?.resetStats();
    if (this.cache) Object.assign(this.cache.stats, { hits: 0, misses: 0, prefetches: 0, uploadBytes: 0 });
  }

  destroy(): void {
    this.sparse?.destroy();
    this.moe?.destroy();
    this.cache?.destroy();
  }
}
