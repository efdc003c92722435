/**
 * A PROJECTION, not a measurement: the speedup self-speculative decoding would give on a bandwidth-bound GPU,
 * from measured (or held-out) acceptance rates and a cost model in weight bytes. For issue 13's GPU run: which
 * (draft source, exit layer, drafts) settings are worth timing, and whether 2x is reachable with these drafts.
 */
import type { ModelConfig } from '../src/model/config';
import { sparseLayerFraction } from '../src/decode/draft_paths';

export const PROJECTION_ASSUMPTIONS = [
  'bandwidth-bound: a pass costs in proportion to the weight bytes it reads (KV cache and activations left out; short contexts)',
  'a verify pass over k + 1 rows reads every weight once and costs one plain step, whatever k',
  'a draft pass reads the embedding row, layers 1..l (sparse: attention and gate dense, up/down only the live neurons), the adapter if any, the final norm and LM head (with a draft vocabulary of N tokens: N of its rows; the verify reads all)',
  'draft i is accepted with probability alpha independently of the others: (1 - alpha^(d+1)) / (1 - alpha) tokens per round',
  'no CPU or launch overhead, no pipelining across rounds',
];

export type PathKind = 'exit' | 'adapter' | 'sparse';

/** A draft path with its per-token greedy acceptance and its cost as a fraction of one plain step's weight bytes. */
export interface ProjectedPath {
  kind: PathKind;
  exitLayer: number;
  /** per-token greedy acceptance alpha */
  acceptance: number;
  /** where alpha comes from: 'runtime' (this benchmark's decoding) or 'held-out' (tools/train, PyTorch, validation split) */
  acceptanceFrom: 'runtime' | 'held-out';
  /** draft pass bytes / plain step bytes */
  draftCost: number;
  /** tokens of the draft vocabulary the drafts score (absent: the whole vocabulary) */
  draftVocab?: number;
}

export interface ProjectedSetting extends ProjectedPath {
  drafts: number;
  tokensPerRound: number;
  /** tokens per round over the round's cost in steps: d·draftCost + 1 */
  speedup: number;
}

/** Weights a 1-row pass reads, in parameters: one decoder layer (dense MLP), the final norm + LM head. */
export function passWeights(config: ModelConfig): { layer: number; head: number } {
  const { hidden, heads, kvHeads, headDim, intermediate, vocab } = config;
  const layer = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim + 3 * hidden * intermediate + 2 * hidden;
  return { layer, head: vocab * hidden + hidden };
}

/**
 * Draft pass bytes over a plain step's, for a path of `kind` at exit layer l (adapterParams: the adapter's weights;
 * sparsity: its target; draftVocab: the draft head's rows).
 */
export function draftCost(config: ModelConfig, kind: PathKind, exitLayer: number, extra: { adapterParams?: number; sparsity?: number; draftVocab?: number } = {}): number {
  const { layer, head } = passWeights(config);
  const layers = kind === 'sparse' ? exitLayer * sparseLayerFraction(config, extra.sparsity ?? 0) : exitLayer;
  const adapter = kind === 'adapter' ? extra.adapterParams ?? 0 : 0;
  const draftHead = extra.draftVocab ? extra.draftVocab * config.hidden + config.hidden : head;
  return (layers * layer + adapter + draftHead) / (config.layers * layer + head);
}

/** Expected accepted drafts per round, alpha·(1 − alpha^d) / (1 − alpha). */
function acceptedPerRound(alpha: number, drafts: number): number {
  return alpha >= 1 ? drafts : (alpha * (1 - alpha ** drafts)) / (1 - alpha);
}

/** The per-token alpha behind a measured accepted/drafted fraction with `drafts` drafts per round (bisection). */
export function alphaFromAcceptance(fraction: number, drafts: number): number {
  let lo = 0, hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (acceptedPerRound(mid, drafts) / drafts < fraction) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function project(path: ProjectedPath, drafts: number): ProjectedSetting {
  const tokensPerRound = 1 + acceptedPerRound(path.acceptance, drafts);
  return { ...path, drafts, tokensPerRound, speedup: tokensPerRound / (drafts * path.draftCost + 1) };
}

/** The setting with the highest projected speedup. */
export function bestProjected(settings: ProjectedSetting[]): ProjectedSetting {
  return settings.reduce((a, b) => (b.speedup > a.speedup ? b : a));
}
