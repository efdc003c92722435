/**
 * DEL's dynamic choice of exit layer and draft length. Per-layer acceptance rates α_ℓ are tracked from
 * shadow tokens (the token layer ℓ would have drafted at each verified position) with exponentially
 * decayed counts, so the estimate follows the context; each round picks the (ℓ, d) maximising
 * TPL(ℓ, d) = [(1 − α_ℓ^{d+1}) / (1 − α_ℓ)] / (d·ℓ + L): expected tokens per round over layers run per round.
 * `headCost` (in layers) adds the LM head each pass runs, d·(ℓ + h) + L + h: DEL's models have
 * 32+ layers where it vanishes, but on small models the head costs about one layer and DEL without it
 * favours 1-layer drafts that barely beat plain decoding.
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

  /** The best (exitLayer, draftLength) over the grid; a fixed value pins that coordinate. */
  choose(fixedExit?: number, fixedDraft?: number): { exitLayer: number; draftLength: number } {
    const exits = fixedExit ? [fixedExit] : range(1, Math.max(1, this.layers - 1));
    const lengths = fixedDraft ? [fixedDraft] : range(1, this.maxDraft);
    let best = { exitLayer: exits[0], draftLength: lengths[0], tpl: -1 };
    for (const exitLayer of exits) {
      for (const draftLength of lengths) {
        const tpl = tokensPerLayer(this.rate(exitLayer), exitLayer, draftLength, this.layers, this.headCost);
        if (tpl > best.tpl) best = { exitLayer, draftLength, tpl };
      }
    }
    return { exitLayer: best.exitLayer, draftLength: best.draftLength };
  }
}

/** DEL's TPL: expected tokens per round, (1 − α^{d+1}) / (1 − α), over layers run per round, d·(ℓ + h) + L + h. */
export function tokensPerLayer(alpha: number, exitLayer: number, draftLength: number, layers: number, headCost = 0): number {
  const expected = alpha >= 1 ? draftLength + 1 : (1 - alpha ** (draftLength + 1)) / (1 - alpha);
  return expected / (draftLength * (exitLayer + headCost) + layers + headCost);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
