import type { DelDecision } from '../contract/types';

/**
 * DEL's dynamic choice of exit layer and draft length. Per-layer acceptance rates α_ℓ are tracked from
 * shadow tokens (the token layer ℓ would have drafted at each verified position) with exponentially
 * decayed counts, so the estimate follows the context; each round picks the (ℓ, d) maximising
 * TPL(ℓ, d) = [(1 − α_ℓ^{d+1}) / (1 − α_ℓ)] / cost(ℓ, d): expected tokens per round over layers run per round.
 * DEL's cost is d·ℓ + L. Two terms extend it:
 * - `headCost` h (in layers) for the LM head each pass runs: DEL's models have 32+ layers where it vanishes,
 *   but on small models the head costs about one layer and DEL without it favours 1-layer drafts.
 * - `rowCost` ρ ∈ [0, 1]: a pass over r rows costs 1 + ρ(r − 1) single-row passes. ρ ≈ 0 on bandwidth-bound
 *   GPUs (DEL's assumption); ρ ≈ 1 on compute-bound adapters (software Vulkan), where verifying d drafts
 *   costs almost d + 1 single-token steps and drafting rarely pays.
 * So cost(ℓ, d) = d·(ℓ + h) + ℓ + (L − ℓ + h)·(1 + ρ·d): d drafts, then the verify pass (the last token
 * through the early layers, d + 1 rows through the rest and the head). d = 0 is a plain decoding step,
 * TPL = 1 / (L + h), and is on the grid unless the draft length is pinned.
 */
export class ExitPolicy {
  private readonly matches: number[];
  private readonly trials: number[];

  constructor(
    readonly layers: number,
    readonly maxDraft: number,
    /** weight kept by old observations of a layer each time it is observed again */
    readonly decay = 0.9,
    prior = { rate: 0.5, trials: 2 },
    /** cost of norm + LM head + token choice, in layers */
    readonly headCost = 1,
    /** ρ: extra cost of each row beyond the first in a multi-row pass, as a fraction of a 1-row pass */
    public rowCost = 0,
  ) {
    this.matches = Array.from({ length: layers + 1 }, () => prior.rate * prior.trials);
    this.trials = Array.from({ length: layers + 1 }, () => prior.trials);
  }

  /** Estimated acceptance rate of drafting from the first `layer` layers. */
  rate(layer: number): number {
    return this.matches[layer] / this.trials[layer];
  }

  /** Record that layer `layer`'s token matched the target at `matches` of `trials` positions. */
  observe(layer: number, matches: number, trials: number): void {
    if (trials === 0) return;
    this.matches[layer] = this.decay * this.matches[layer] + matches;
    this.trials[layer] = this.decay * this.trials[layer] + trials;
  }

  /**
   * Whether drafting from some exit layer (`fixedExit` if pinned) could beat a plain step under the cost model
   * even if every draft were accepted. When it cannot (ρ near 1 on compute-bound adapters), measuring acceptance
   * rates cannot change the choice, so plain decoding need not pay for shadow tokens.
   */
  draftingCanWin(fixedExit?: number): boolean {
    const plain = 1 / (this.layers + this.headCost);
    const exits = fixedExit ? [fixedExit] : range(1, Math.max(1, this.layers - 1));
    return exits.some((exitLayer) => range(1, this.maxDraft).some((d) => tokensPerLayer(1, exitLayer, d, this.layers, this.headCost, this.rowCost) > plain));
  }

  /** Why `choose` decides as it does: the rates and ρ it used, and the best drafting round against a plain step. */
  explain(fixedExit?: number, fixedDraft?: number): Pick<DelDecision, 'acceptance' | 'rowCost' | 'bestDraft' | 'draftingCannotWin'> {
    const { exitLayer, draftLength, tpl } = this.search(fixedExit, fixedDraft, 1);
    return {
      acceptance: this.matches.map((m, layer) => (layer === 0 ? 0 : m / this.trials[layer])),
      rowCost: this.rowCost,
      bestDraft: { exitLayer, draftLength, gain: tpl * (this.layers + this.headCost) },
      draftingCannotWin: !this.draftingCanWin(fixedExit),
    };
  }

  /** The best (exitLayer, draftLength) over the grid (draft lengths minDraft..maxDraft); a fixed value pins that coordinate. */
  choose(fixedExit?: number, fixedDraft?: number, minDraft = 0): { exitLayer: number; draftLength: number } {
    const { exitLayer, draftLength } = this.search(fixedExit, fixedDraft, minDraft);
    return { exitLayer, draftLength };
  }

  private search(fixedExit: number | undefined, fixedDraft: number | undefined, minDraft: number): { exitLayer: number; draftLength: number; tpl: number } {
    const exits = fixedExit ? [fixedExit] : range(1, Math.max(1, this.layers - 1));
    const lengths = fixedDraft ? [fixedDraft] : range(minDraft, this.maxDraft);
    let best = { exitLayer: exits[0], draftLength: lengths[0], tpl: -1 };
    for (const exitLayer of exits) {
      for (const draftLength of lengths) {
        const tpl = tokensPerLayer(this.rate(exitLayer), exitLayer, draftLength, this.layers, this.headCost, this.rowCost);
        if (tpl > best.tpl) best = { exitLayer, draftLength, tpl };
      }
    }
    return best;
  }
}

/** TPL: expected tokens per round, (1 − α^{d+1}) / (1 − α), over layers run per round, d·(ℓ + h) + ℓ + (L − ℓ + h)·(1 + ρ·d). */
export function tokensPerLayer(alpha: number, exitLayer: number, draftLength: number, layers: number, headCost = 0, rowCost = 0): number {
  const expected = alpha >= 1 ? draftLength + 1 : (1 - alpha ** (draftLength + 1)) / (1 - alpha);
  const verify = exitLayer + (layers - exitLayer + headCost) * (1 + rowCost * draftLength);
  return expected / (draftLength * (exitLayer + headCost) + verify);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
