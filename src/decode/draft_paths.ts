import type { ModelConfig } from '../model/config';

/** Where a self-speculative draft comes from. */
export type DraftPathKind = 'exit' | 'sparse';

/**
 * A draft path and its cost in the units of DEL's cost model (dense single-row layers; the head is extra):
 * - `exit` (LayerSkip): layers 1..ℓ of the model. The drafts' states after layer ℓ are the verify's own, so the
 *   verify runs only the last draft through layers 1..ℓ.
 * - `sparse` (Sirius): layers 1..ℓ with the activation-sparse MLP (ℓ = L: the whole model made sparse). Its states
 *   are not the dense model's, so the verify runs every row through every layer densely: lossless.
 */
export interface DraftPath {
  kind: DraftPathKind;
  exitLayer: number;
  /** one draft pass before the head, in dense layers */
  passLayers: number;
  /** layers of the verify the drafts' states stand in for */
  reusedLayers: number;
}

export function exitPath(exitLayer: number): DraftPath {
  return { kind: 'exit', exitLayer, passLayers: exitLayer, reusedLayers: exitLayer };
}

export function sparsePath(config: ModelConfig, exitLayer: number, target: number): DraftPath {
  return { kind: 'sparse', exitLayer, passLayers: exitLayer * sparseLayerFraction(config, target), reusedLayers: 0 };
}

/**
 * Weight bytes a 1-row pass of a sparse layer reads over a dense layer's: attention and the MLP's gate stay dense,
 * the up and down projections read only the live neurons' rows (a `target` fraction of them is skipped).
 */
export function sparseLayerFraction(config: ModelConfig, target: number): number {
  const { hidden, heads, kvHeads, headDim, intermediate } = config;
  const attention = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim;
  const mlp = 3 * hidden * intermediate;
  return (attention + mlp * (1 + 2 * (1 - target)) / 3) / (attention + mlp);
}

/**
 * TPL of a round drafting d tokens from `source` at acceptance α: expected tokens (1 − α^{d+1}) / (1 − α) over
 * layers run, d·(pass + h_d) + r + (L − r + h)·(1 + ρ·d) with r the reused layers and h_d the draft's head
 * (exit sources: ExitPolicy's formula).
 */
export function pathTokensPerLayer(alpha: number, source: DraftPath, draftLength: number, layers: number, headCost: number, rowCost: number, draftHeadCost = headCost): number {
  const expected = alpha >= 1 ? draftLength + 1 : (1 - alpha ** (draftLength + 1)) / (1 - alpha);
  const r = source.reusedLayers;
  const verify = r + (layers - r + headCost) * (1 + rowCost * draftLength);
  return expected / (draftLength * (source.passLayers + draftHeadCost) + verify);
}

/**
 * Acceptance of a draft source measured only by drafting with it (no shadow tokens can stand in for a sparse
 * pass), decayed like ExitPolicy's per-layer rates, and its best draft length under the cost model.
 */
export class PathAcceptance {
  private matches: number;
  private trials: number;

  constructor(readonly path: DraftPath, readonly decay = 0.9, prior = { rate: 0.5, trials: 2 }) {
    this.matches = prior.rate * prior.trials;
    this.trials = prior.trials;
  }

  rate(): number {
    return this.matches / this.trials;
  }

  observe(matches: number, trials: number): void {
    if (trials === 0) return;
    this.matches = this.decay * this.matches + matches;
    this.trials = this.decay * this.trials + trials;
  }

  /** The draft length in [minDraft, maxDraft] (or the pinned one) with the highest TPL, and that TPL. */
  best(layers: number, maxDraft: number, headCost: number, rowCost: number, fixedDraft?: number, minDraft = 1, draftHeadCost = headCost): { draftLength: number; tpl: number } {
    let best = { draftLength: fixedDraft ?? minDraft, tpl: -1 };
    for (let d = fixedDraft ?? minDraft; d <= (fixedDraft ?? maxDraft); d++) {
      const tpl = pathTokensPerLayer(this.rate(), this.path, d, layers, headCost, rowCost, draftHeadCost);
      if (tpl > best.tpl) best = { draftLength: d, tpl };
    }
    return best;
  }
}
