import type { DelDecision } from '../contract/types';

/** A draft source: layers 1..exitLayer, then the final norm and head (a plain exit) or the exit's adapter. */
export interface DraftSource {
  exitLayer: number;
  adapter?: true;
}

/** The sources a policy chooses from: plain exits 1..L−1 (unless `plain` is false), and adapters at their exit layers. */
export interface DraftSources {
  plain: boolean;
  /** each adapter's exit layer and its cost in layers */
  adapters: { exitLayer: number; cost: number }[];
  /** the drafts' head over the LM head, in weight bytes: N / vocab with a draft vocabulary of N tokens (default 1) */
  headFraction?: number;
}

const PLAIN_EXITS: DraftSources = { plain: true, adapters: [] };


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
 * A Kangaroo adapter at exit ℓ is a draft source of its own beside the plain exit ℓ: its own acceptance rate, and
 * drafts costing ℓ + a + h, where a (in layers) is the adapter's weight over a layer's (an attention-only block).
 * With a draft vocabulary a draft's head costs h·N/vocab (`sources.headFraction`); the verify's stays h.
 */
export class ExitPolicy {
  /** decayed counts by exit layer: [0] plain exits, [1] adapters */
  private readonly matches: number[][];
  private readonly trials: number[][];

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
    readonly sources: DraftSources = PLAIN_EXITS,
  ) {
    const counts = (n: number) => [0, 1].map(() => Array.from({ length: layers + 1 }, () => n));
    this.matches = counts(prior.rate * prior.trials);
    this.trials = counts(prior.trials);
  }

  /** Estimated acceptance rate of drafting from the first `layer` layers (and the adapter there when `adapter`). */
  rate(layer: number, adapter = false): number {
    const a = +adapter;
    return this.matches[a][layer] / this.trials[a][layer];
  }

  /** Record that the draft source's token matched the target at `matches` of `trials` positions. */
  observe(layer: number, matches: number, trials: number, adapter = false): void {
    if (trials === 0) return;
    const a = +adapter;
    this.matches[a][layer] = this.decay * this.matches[a][layer] + matches;
    this.trials[a][layer] = this.decay * this.trials[a][layer] + trials;
  }

  /** The sources choose picks from (only exit `fixedExit` when pinned). */
  candidates(fixedExit?: number): DraftSource[] {
    const plain = !this.sources.plain ? [] : fixedExit ? [fixedExit] : range(1, Math.max(1, this.layers - 1));
    const adapters = this.sources.adapters.map((a) => a.exitLayer).filter((l) => !fixedExit || l === fixedExit);
    return [...plain.map((exitLayer): DraftSource => ({ exitLayer })), ...adapters.map((exitLayer): DraftSource => ({ exitLayer, adapter: true }))];
  }

  /** h_d: the cost of a draft's head, in layers */
  get draftHeadCost(): number {
    return this.headCost * (this.sources.headFraction ?? 1);
  }

  private draftExtra(source: DraftSource): number {
    return source.adapter ? this.sources.adapters.find((a) => a.exitLayer === source.exitLayer)!.cost : 0;
  }

  /**
   * Whether drafting from some exit layer (`fixedExit` if pinned) could beat a plain step under the cost model
   * even if every draft were accepted. When it cannot (ρ near 1 on compute-bound adapters), measuring acceptance
   * rates cannot change the choice, so plain decoding need not pay for shadow tokens.
   */
  draftingCanWin(fixedExit?: number): boolean {
    const plain = 1 / (this.layers + this.headCost);
    return this.candidates(fixedExit).some((c) => range(1, this.maxDraft).some((d) => tokensPerLayer(1, c.exitLayer, d, this.layers, this.headCost, this.rowCost, this.draftExtra(c), this.draftHeadCost) > plain));
  }

  /** Why `choose` decides as it does: the rates and ρ it used, and the best drafting round against a plain step. */
  explain(fixedExit?: number, fixedDraft?: number): Pick<DelDecision, 'acceptance' | 'adapterAcceptance' | 'rowCost' | 'bestDraft' | 'draftingCannotWin'> {
    const { exitLayer, draftLength, adapter, tpl } = this.search(fixedExit, fixedDraft, 1);
    const adapterExits = this.sources.adapters.map((a) => a.exitLayer);
    return {
      acceptance: this.matches[0].map((m, layer) => (layer === 0 ? 0 : m / this.trials[0][layer])),
      ...(adapterExits.length ? { adapterAcceptance: Object.fromEntries(adapterExits.map((l) => [l, this.rate(l, true)])) } : {}),
      rowCost: this.rowCost,
      bestDraft: { exitLayer, draftLength, ...(adapter ? { adapter } : {}), gain: tpl * (this.layers + this.headCost) },
      draftingCannotWin: !this.draftingCanWin(fixedExit),
    };
  }

  /**
   * The best (draft source, draftLength) over the grid (draft lengths minDraft..maxDraft); a fixed value pins that
   * coordinate. `allowed` leaves drafting rounds out of the grid (the grid's first length always stays).
   */
  choose(fixedExit?: number, fixedDraft?: number, minDraft = 0, allowed?: (source: DraftSource, draftLength: number) => boolean): DraftSource & { draftLength: number } {
    const { exitLayer, draftLength, adapter } = this.search(fixedExit, fixedDraft, minDraft, allowed);
    return { exitLayer, draftLength, ...(adapter ? { adapter } : {}) };
  }

  private search(fixedExit: number | undefined, fixedDraft: number | undefined, minDraft: number, allowed?: (source: DraftSource, draftLength: number) => boolean): DraftSource & { draftLength: number; tpl: number } {
    const sources = this.candidates(fixedExit);
    const lengths = fixedDraft ? [fixedDraft] : range(minDraft, this.maxDraft);
    let best = { ...sources[0], draftLength: lengths[0], tpl: -1 };
    for (const source of sources) {
      for (const draftLength of lengths) {
        if (allowed && draftLength !== lengths[0] && !allowed(source, draftLength)) continue;
        const tpl = tokensPerLayer(this.rate(source.exitLayer, source.adapter), source.exitLayer, draftLength, this.layers, this.headCost, this.rowCost, this.draftExtra(source), this.draftHeadCost);
        if (tpl > best.tpl) best = { ...source, draftLength, tpl };
      }
    }
    return best;
  }
}

/**
 * TPL: expected tokens per round, (1 − α^{d+1}) / (1 − α), over layers run per round,
 * d·(ℓ + a + h_d) + ℓ + (L − ℓ + h)·(1 + ρ·d), with a = `draftExtra` (an adapter's cost in layers) and h_d the
 * draft's head (`draftHeadCost`: h unless a draft vocabulary shrinks it).
 */
export function tokensPerLayer(alpha: number, exitLayer: number, draftLength: number, layers: number, headCost = 0, rowCost = 0, draftExtra = 0, draftHeadCost = headCost): number {
  const expected = alpha >= 1 ? draftLength + 1 : (1 - alpha ** (draftLength + 1)) / (1 - alpha);
  const verify = exitLayer + (layers - exitLayer + headCost) * (1 + rowCost * draftLength);
  return expected / (draftLength * (exitLayer + draftExtra + draftHeadCost) + verify);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
