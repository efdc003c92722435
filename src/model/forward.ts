import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import type { ModelConfig } from './config';
import type { LayerWeights, ModelWeights } from './weights';
import { Activations } from './activations';
import { KvCache } from './kv_cache';
import { argmaxFusable, argmaxPartials, decodeAttentionFits, kvAppendFits, linear, normPays, type KvAppend, type LinearArgs } from '../kernels/linear';
import { argmaxReduce } from '../kernels/sampling';
import { storageBuffer } from '../gpu/buffers';
import { headRmsNorm, rmsNorm } from '../kernels/norm';
import { attention, ropeKvWrite } from '../kernels/attention';
import { ropeTable, type RopeTable } from '../kernels/rope_table';
import type { Rotation } from './config';
import { softcapInPlace } from '../kernels/elementwise';
import { embed } from '../kernels/embed';
import { AdapterBlock } from './adapter_forward';

/**
 * The transformer forward pass, recorded into a Step, following each layer's recipe (config.recipe, from the
 * model's family). Reads like the math:
 *   x = embed(ids) · embedScale
 *   for each layer:  a = o(attn(rope(q(n)), rope(k(n)), v(n)))  with n = norm(x); q, k per-head normed when asked
 *                    x += a                  ('pre' norms)   or  x += norm(a)          ('sandwich', Gemma)
 *                    x += mlp(norm(x))       ('pre')         or  x += norm(mlp(norm(x))) ('sandwich')
 *   logits = softcap(lm_head(norm(x)))
 * RMSNorm weights apply as (normOffset + w). Works on rows 0..count of the activation buffers at absolute
 * positions startPos..startPos+count. The layer range and the rows given to the head are parameters so
 * speculative strategies can draft with the first layers and verify with the rest.
 */
export class Transformer {
  readonly act: Activations;
  /** Per layer: its RoPE tables for short and long sequences (they differ for LongRoPE only), null for NoPE. */
  private readonly rope: (RopeTables | null)[];
  /** Kangaroo adapters (config.selfSpeculative), by exit layer order of the config */
  readonly adapters: AdapterBlock[];
  /** [groups, 2] f32 greedy partials of the LM-head gemv (headArgmax), where the split argmax applies */
  private readonly argmaxPartials?: { buffer: GPUBuffer; groups: number };

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    readonly kv: KvCache,
    readonly rows: number,
    readonly mlpBlock: MlpBlock = denseMlp,
    /** the activation-sparse MLP, when the model was loaded with one (Sirius drafts switch it per pass) */
    readonly sparse?: SparseControl,
  ) {
    this.act = new Activations(gpu, config, rows);
    this.rope = config.recipe.map(({ attention: { rope } }) => rope && ropeTables(rope, config.headDim));
    if (config.logitSoftcap === 0 && argmaxFusable(weights.lmHead, gpu.tuning.gemv)) {
      const groups = argmaxPartials(weights.lmHead, gpu.tuning.gemv);
      this.argmaxPartials = { buffer: storageBuffer(gpu, 'argmax partials', 8 * groups), groups };
    }
    this.adapters = (weights.adapters ?? []).map((w, i) => {
      const shape = config.selfSpeculative!.adapters[i];
      return new AdapterBlock(gpu, w, shape, kv, rows, adapterRope(config, shape.exitLayer, shape.headDim));
    });
  }

  /** The adapter after exit layer `exitLayer`, if the model has one. */
  adapter(exitLayer: number): AdapterBlock | undefined {
    return this.adapters.find((a) => a.exitLayer === exitLayer);
  }

  /** x[0..count) = embedding of ids[idsOffset..idsOffset+count) · embedScale */
  embed(step: Step, ids: GPUBuffer, idsOffset: number, count: number): void {
    this.checkRows(count);
    embed(this.gpu, step, { ids, idsOffset, count, table: this.weights.embed, out: this.act.x, scale: this.config.embedScale });
  }

  /**
   * Run layers [from, to) over x[0..count) at positions startPos.., writing their KV. `seqLen` is the length of the
   * sequence being processed (LongRoPE rotates with its long factors past the original context, as transformers
   * does for max(position_ids) + 1; a prompt processed in chunks passes its whole length).
   */
  layers(step: Step, count: number, startPos: number, from = 0, to = this.config.layers, seqLen = startPos + count): void {
    this.checkRows(count);
    if (startPos + count > this.kv.maxSeq) throw new RangeError(`positions ${startPos}..${startPos + count} exceed the KV cache (${this.kv.maxSeq})`);
    const { act } = this;
    this.kv.wrote(startPos + count);
    const residual = { y: act.x, accumulate: true };
    for (let l = from; l < to; l++) {
      const w = this.weights.layers[l];
      const sandwich = this.config.recipe[l].norms === 'sandwich';
      this.attentionBlock(step, l, w, count, startPos, seqLen, sandwich ? { y: act.h, accumulate: false } : residual);
      if (sandwich) this.norm(step, act.h, w.attnOutNorm!, act.x, count, true);
      this.mlpBlock(this, step, l, count, sandwich ? { y: act.h, accumulate: false } : residual);
      if (sandwich) this.norm(step, act.h, w.mlpOutNorm!, act.x, count, true);
    }
  }

  /**
   * Whether greedy decode can pick its token without the logits (headArgmax): the LM head runs the gemv and the
   * logits are not soft-capped (the cap could merge near-ties the pick must see as argmax does).
   */
  get splitArgmax(): boolean {
    return this.argmaxPartials !== undefined;
  }

  /**
   * out[outOffset] = argmax of lm_head(norm(x[0])) as argmax over head()'s logits gives it (ties to the lowest index,
   * no token for non-finite logits), without the logits: the LM-head gemv's workgroups store their best (value,
   * index) and one small pass picks from those. Only where splitArgmax.
   */
  headArgmax(step: Step, out: GPUBuffer, outOffset: number): void {
    const partials = this.argmaxPartials;
    if (!partials) throw new Error('headArgmax: this model picks greedy tokens from its logits (splitArgmax is false)');
    this.normedLinears(step, this.weights.norm, 1, [{ w: this.weights.lmHead, y: partials.buffer, argmax: true }]);
    argmaxReduce(this.gpu, step, { partials: partials.buffer, groups: partials.groups, out, outOffset });
  }

  /**
   * logits[0..rows) = softcap(lm_head(norm(x[firstRow..firstRow+rows)))); `norm` replaces the final norm's weight (an
   * adapter's). `draftVocab`: the draft head (weights.draftVocab), rows of N logits in rank order.
   */
  head(step: Step, rows: number, firstRow = 0, norm = this.weights.norm, draftVocab = false): void {
    this.checkRows(firstRow + rows);
    const { hidden, vocab, logitSoftcap } = this.config;
    const w = draftVocab ? this.weights.draftVocab!.head : this.weights.lmHead;
    this.normedLinears(step, norm, rows, [{ w, y: this.act.logits }], firstRow * hidden);
    if (logitSoftcap > 0) softcapInPlace(this.gpu, step, { x: this.act.logits, n: rows * (draftVocab ? w.rows : vocab), cap: logitSoftcap });
  }

  /**
   * Each projection of norm(x[xOffset..]) over `count` rows: the RMSNorm runs in every gemv's prologue where each
   * projection's kernel can take it and it pays (normPays; bitwise what the standalone norm writes), else once into act.h.
   */
  normedLinears(step: Step, normWeight: GPUBuffer, count: number, projections: Projection[], xOffset = 0): void {
    const { gpu, act, config: c } = this;
    const shape = gpu.tuning.gemv;
    if (projections.every((p) => normPays(p.w, count, xOffset, shape))) {
      const norm = { weight: normWeight, eps: c.rmsEps, weightOffset: c.normOffset };
      for (const p of projections) linear(gpu, step, { ...p, x: act.x, xOffset, rows: count, norm }, shape);
      return;
    }
    this.norm(step, act.x, normWeight, act.h, count, false, xOffset);
    for (const p of projections) linear(gpu, step, { ...p, x: act.h, rows: count }, shape);
  }

  /** act.h = layer l's MLP norm of x, for MLP blocks that read a normed input (sparse and expert MLPs). */
  mlpInput(step: Step, l: number, count: number): GPUBuffer {
    this.norm(step, this.act.x, this.weights.layers[l].mlpNorm, this.act.h, count);
    return this.act.h;
  }

  /** y (+)= norm(x) over `count` rows of hidden, from row offset xOffset of x. */
  private norm(step: Step, x: GPUBuffer, weight: GPUBuffer, y: GPUBuffer, count: number, accumulate = false, xOffset = 0): void {
    const { hidden, rmsEps, normOffset } = this.config;
    rmsNorm(this.gpu, step, { x, weight, y, rows: count, dim: hidden, eps: rmsEps, weightOffset: normOffset, accumulate, xOffset });
  }

  /**
   * out (+)= o(attention(q(h), k(h), v(h))) as layer l's recipe says, h = norm(x); q, k and v from one gemv when
   * stacked, with RoPE and the KV append in its epilogue where the layer has no per-head q/k norm (that needs whole
   * heads) and the device binds the epilogue's ninth buffer.
   */
  private attentionBlock(step: Step, l: number, w: LayerWeights, count: number, startPos: number, seqLen: number, out: BlockOutput): void {
    const { gpu, act, config: c } = this;
    const r = c.recipe[l].attention;
    const cache = { ...this.kv.layer(l), kvHeads: c.kvHeads, headDim: c.headDim };
    const rope = this.rope[l];
    const table = rope && (seqLen > rope.longAfter ? rope.long : rope.short); // null: a NoPE layer appends k unrotated
    const scores = { scale: r.scale, softcap: r.softcap, window: r.window };
    let append: KvAppend | undefined = !r.qkNorm && kvAppendFits(gpu) ? { headDim: c.headDim, startPos, maxSeq: cache.maxSeq, ring: cache.ring, table } : undefined;
    // a decode row on a CPU adapter: its attention runs in the q/k/v gemv's dispatch too, writing act.attn
    const fused = !!(append && w.qkv && decodeAttentionFits(gpu, w.qkv.w, count, { headDim: c.headDim, group: c.heads / c.kvHeads, startPos, window: r.window }, gpu.tuning.gemv));
    if (fused) append = { ...append!, attention: scores };
    const projections: Projection[] = !w.qkv
      ? [{ w: w.q!, y: act.q, bias: w.qBias }, { w: w.k!, y: act.k, bias: w.kBias }, { w: w.v!, y: act.v, bias: w.vBias }]
      : append
        ? [{ w: w.qkv.w, y: fused ? act.attn : act.q, bias: w.qkv.bias, split: { widths: w.qkv.widths, y2: cache.kCache, y3: cache.vCache, append } }]
        : [{ w: w.qkv.w, y: act.q, bias: w.qkv.bias, split: { widths: w.qkv.widths, y2: act.k, y3: act.v } }];
    this.normedLinears(step, w.inputNorm, count, projections);
    if (r.qkNorm) {
      headRmsNorm(gpu, step, { q: act.q, k: act.k, qWeight: w.qNorm!, kWeight: w.kNorm!, tokens: count, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, eps: c.rmsEps, weightOffset: c.normOffset });
    }
    if (!w.qkv || !append) ropeKvWrite(gpu, step, { q: act.q, k: act.k, v: act.v, tokens: count, startPos, heads: c.heads, table, ...cache });
    if (!fused) attention(gpu, step, { q: act.q, out: act.attn, tokens: count, startPos, heads: c.heads, ...scores, ...cache });
    linear(gpu, step, { x: act.attn, w: w.o, y: out.y, rows: count, accumulate: out.accumulate });
  }

  private checkRows(count: number): void {
    if (count < 1 || count > this.rows) throw new RangeError(`a pass holds 1..${this.rows} rows, got ${count}`);
  }

  destroy(): void {
    this.act.destroy();
    this.argmaxPartials?.buffer.destroy();
    for (const a of this.adapters) a.destroy();
  }
}

interface RopeTables {
  short: RopeTable;
  long: RopeTable;
  /** sequences longer than this use `long` */
  longAfter: number;
}

/** Tables by rotation, built once per process: their GPU copies are cached by table identity (ropeTableBuffer). */
const builtTables = new Map<string, RopeTables>();

function ropeTables(rope: Rotation, headDim: number): RopeTables {
  const key = JSON.stringify([rope, headDim]);
  let tables = builtTables.get(key);
  if (tables) return tables;
  const spec = { ...rope, headDim };
  const s = rope.scaling;
  const longAfter = s?.type === 'longrope' ? s.originalMaxPositions ?? s.maxPositions : Infinity;
  builtTables.set(key, (tables = { short: ropeTable(spec), long: ropeTable(spec, longAfter + 1), longAfter }));
  return tables;
}

/**
 * An adapter's rotation: the exit layer's (the last layer the draft ran), or the first rotary layer's when that one is
 * NoPE, for the adapter's head size (a partial rotary keeps its fraction); null when no layer rotates.
 */
function adapterRope(config: ModelConfig, exitLayer: number, headDim: number): RopeTables | null {
  const rope = config.recipe[exitLayer - 1].attention.rope ?? config.recipe.find((r) => r.attention.rope)?.attention.rope;
  if (!rope) return null;
  const rotaryDim = rope.rotaryDim && 2 * Math.floor((rope.rotaryDim * headDim) / config.headDim / 2);
  return ropeTables(rotaryDim ? { ...rope, rotaryDim } : rope, headDim);
}

/** Where a sub-block writes: added into the residual stream, or into a buffer for a post-norm. */
export interface BlockOutput {
  y: GPUBuffer;
  accumulate: boolean;
}

/** An activation-sparse MLP as a strategy sees it: its target fraction of skipped neurons and a switch that makes every pass dense. */
export interface SparseControl {
  readonly target: number;
  /** true: every pass runs the dense MLP (a lossless verify); false: 1-row passes skip neurons */
  dense: boolean;
}

/** A linear layer of normedLinears: its weight, output and epilogue (its input is the normed x). */
export type Projection = Omit<LinearArgs, 'x' | 'rows' | 'xOffset' | 'norm'>;

/** The MLP sub-block of layer l: reads norm(act.x) with the layer's mlpNorm (Transformer.normedLinears or mlpInput), writes or adds its output into out.y. */
export type MlpBlock = (t: Transformer, step: Step, layer: number, count: number, out: BlockOutput) => void;

/**
 * out (+)= down(act(gate(h)) * up(h)), h = norm(x); the activation (SiLU or GELU-tanh, per the recipe) is fused
 * into the up projection, or gate and up are one stacked gemv storing act(gate)·up.
 */
export function denseMlp(t: Transformer, step: Step, layer: number, count: number, out: BlockOutput): void {
  const mlp = t.weights.layers[layer].mlp;
  if (!mlp) throw new Error(`layer ${layer} has no dense MLP weights`);
  const { gpu, act } = t;
  const activation = t.config.recipe[layer].activation;
  t.normedLinears(step, t.weights.layers[layer].mlpNorm, count, mlp.gateUp
    ? [{ w: mlp.gateUp, y: act.act, gateUp: true, activation }]
    : [{ w: mlp.gate!, y: act.gate }, { w: mlp.up!, y: act.act, gate: act.gate, activation }]);
  linear(gpu, step, { x: act.act, w: mlp.down, y: out.y, rows: count, accumulate: out.accumulate });
}

export { KvCache };
