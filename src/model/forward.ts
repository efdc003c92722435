import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import type { ModelConfig } from './config';
import type { LayerWeights, ModelWeights } from './weights';
import { Activations } from './activations';
import { KvCache } from './kv_cache';
import { linear } from '../kernels/linear';
import { headRmsNorm, rmsNorm } from '../kernels/norm';
import { attention, ropeKvWrite } from '../kernels/attention';
import { embed } from '../kernels/embed';

/**
 * The transformer forward pass, recorded into a Step, following each layer's recipe (config.recipe, from
 * the model's family). Reads like the math:
 *   x = embed(ids)
 *   for each layer:  x += o(attn(rope(q(norm(x))), rope(k(norm(x))), v(norm(x))))   (q, k per-head normed when asked)
 *                    x += mlp(norm(x))          (dense SwiGLU, or the MoE block)
 *   logits = lm_head(norm(x))
 * Works on rows 0..count of the activation buffers at absolute positions startPos..startPos+count.
 * The layer range and the rows given to the head are parameters so speculative strategies can
 * draft with the first layers and verify with the rest.
 */
export class Transformer {
  readonly act: Activations;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    readonly kv: KvCache,
    readonly rows: number,
    readonly mlpBlock: MlpBlock = denseMlp,
  ) {
    this.act = new Activations(gpu, config, rows);
  }

  /** x[0..count) = embedding of ids[idsOffset..idsOffset+count) */
  embed(step: Step, ids: GPUBuffer, idsOffset: number, count: number): void {
    this.checkRows(count);
    embed(this.gpu, step, { ids, idsOffset, count, table: this.weights.embed, out: this.act.x });
  }

  /** Run layers [from, to) over x[0..count) at positions startPos.., writing their KV. */
  layers(step: Step, count: number, startPos: number, from = 0, to = this.config.layers): void {
    this.checkRows(count);
    if (startPos + count > this.kv.maxSeq) throw new RangeError(`positions ${startPos}..${startPos + count} exceed the KV cache (${this.kv.maxSeq})`);
    for (let l = from; l < to; l++) {
      this.attentionBlock(step, l, this.weights.layers[l], count, startPos);
      rmsNorm(this.gpu, step, { x: this.act.x, weight: this.weights.layers[l].postAttnNorm, y: this.act.h, rows: count, dim: this.config.hidden, eps: this.config.rmsEps });
      this.mlpBlock(this, step, l, count);
    }
  }

  /** logits[0..rows) = lm_head(norm(x[firstRow..firstRow+rows))) */
  head(step: Step, rows: number, firstRow = 0): void {
    this.checkRows(firstRow + rows);
    const { hidden, rmsEps } = this.config;
    rmsNorm(this.gpu, step, { x: this.act.x, weight: this.weights.norm, y: this.act.h, rows, dim: hidden, eps: rmsEps, xOffset: firstRow * hidden });
    linear(this.gpu, step, { x: this.act.h, w: this.weights.lmHead, y: this.act.logits, rows });
  }

  private attentionBlock(step: Step, l: number, w: LayerWeights, count: number, startPos: number): void {
    const { gpu, act, config: c } = this;
    const h = act.h;
    rmsNorm(gpu, step, { x: act.x, weight: w.inputNorm, y: h, rows: count, dim: c.hidden, eps: c.rmsEps });
    linear(gpu, step, { x: h, w: w.q, y: act.q, rows: count, bias: w.qBias });
    linear(gpu, step, { x: h, w: w.k, y: act.k, rows: count, bias: w.kBias });
    linear(gpu, step, { x: h, w: w.v, y: act.v, rows: count, bias: w.vBias });
    if (c.recipe[l].attention.qkNorm) {
      headRmsNorm(gpu, step, { q: act.q, k: act.k, qWeight: w.qNorm!, kWeight: w.kNorm!, tokens: count, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, eps: c.rmsEps });
    }
    const cache = { kCache: this.kv.keys[l], vCache: this.kv.values[l], kvHeads: c.kvHeads, headDim: c.headDim, maxSeq: this.kv.maxSeq };
    const rotation = { theta: c.ropeTheta, scaling: c.ropeScaling };
    ropeKvWrite(gpu, step, { q: act.q, k: act.k, v: act.v, tokens: count, startPos, heads: c.heads, ...rotation, ...cache });
    attention(gpu, step, { q: act.q, out: act.attn, tokens: count, startPos, heads: c.heads, ...cache });
    linear(gpu, step, { x: act.attn, w: w.o, y: act.x, rows: count, accumulate: true });
  }

  private checkRows(count: number): void {
    if (count < 1 || count > this.rows) throw new RangeError(`a pass holds 1..${this.rows} rows, got ${count}`);
  }

  destroy(): void {
    this.act.destroy();
  }
}

/** The MLP sub-block of layer l: reads act.h (normed), adds its output into act.x. */
export type MlpBlock = (t: Transformer, step: Step, layer: number, count: number) => void;

/** x += down(silu(gate(h)) * up(h)); the activation is fused into the up projection. */
export function denseMlp(t: Transformer, step: Step, layer: number, count: number): void {
  const mlp = t.weights.layers[layer].mlp;
  if (!mlp) throw new Error(`layer ${layer} has no dense MLP weights`);
  const { gpu, act } = t;
  linear(gpu, step, { x: act.h, w: mlp.gate, y: act.gate, rows: count });
  linear(gpu, step, { x: act.h, w: mlp.up, y: act.act, rows: count, gate: act.gate });
  linear(gpu, step, { x: act.act, w: mlp.down, y: act.x, rows: count, accumulate: true });
}

export { KvCache };
