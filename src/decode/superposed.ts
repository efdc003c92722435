import { NonFiniteError } from '../contract/errors';
import type { DecodeContext, DecodeStrategy, TokenConstraint } from './strategy';
import { maskRows, maskWords } from '../kernels/logit_controls';
import { storageBuffer } from '../gpu/buffers';
import { superposeEmbed, topN } from '../kernels/superpose';
import type { NgramTable } from '../model/ngram';
import type { DraftView } from '../contract/types';
import type { Step } from '../gpu/step';

export interface SuperposedOptions {
  /** number of drafts k */
  drafts: number;
  /** n-gram interpolation weight α */
  ngramWeight: number;
  /** temperature of the shared next-token distribution */
  temperature: number;
  /** candidates per draft (top-n of the shared distribution) */
  tokensPerDraft: number;
}

/** The paper's defaults (RAIVNLab/SuperposedDecoding). */
export const SUPERPOSED_DEFAULTS: SuperposedOptions = { drafts: 3, ngramWeight: 0.54, temperature: 0.06, tokensPerDraft: 9 };
/** Interpolation weights λ_n of the n-gram orders (unnormalised, as published); orders the table lacks are skipped. */
export const NGRAM_LAMBDAS: Readonly<Record<number, number>> = { 2: 0.01, 3: 0.04, 4: 0.15, 5: 0.18, 6: 0.12 };
/** Score penalty of a candidate the n-gram model gives no probability. */
export const NO_NGRAM_PENALTY = 200;

/** A recorded, not yet submitted pass over `count` superposed drafts. */
interface Recorded {
  step: Step;
  count: number;
}

interface Draft {
  tokens: number[];
  /** cumulative score */
  score: number;
  /** the draft's own constraint state after its tokens (constrained decoding) */
  constraint?: TokenConstraint;
  /** that state's mask of allowed next tokens */
  mask?: Uint32Array;
}

/** q_d(v) = Σ_n λ_n · P_n(v | last n−1 tokens of context), over the table's orders. */
export function ngramProbabilities(table: NgramTable, context: readonly number[], candidates: readonly number[]): number[] {
  const q = candidates.map(() => 0);
  for (const order of table.orders) {
    const lambda = NGRAM_LAMBDAS[order];
    if (!lambda) continue;
    table.probabilities(order, context, candidates).forEach((p, i) => (q[i] += lambda * p));
  }
  return q;
}

/**
 * log p over the top-n candidates: softmax(logits / T) truncated to them and renormalised. Scaled as
 * (logit - max) / T, which is never NaN: at tiny T it takes the greedy limit (log p = 0 for the best, -Infinity for the rest).
 */
export function candidateLogProbs(topLogits: ArrayLike<number>, temperature: number): number[] {
  const top = Math.max(...Array.from(topLogits));
  const scaled = Array.from(topLogits, (l) => (l === top ? 0 : (l - top) / temperature));
  const logSum = Math.log(scaled.reduce((s, x) => s + Math.exp(x), 0));
  return scaled.map((x) => x - logSum);
}

/** s = (1 − α)·log p + α·log q; a candidate without n-gram support gets (1 − α)·log p − penalty. */
export function interpolatedScore(logP: number, q: number, alpha: number): number {
  if (alpha === 0) return logP;
  return q > 0 ? (1 - alpha) * logP + alpha * Math.log(q) : (1 - alpha) * logP - NO_NGRAM_PENALTY;
}

/**
 * Superposed decoding: k drafts share one sequence and one KV cache. Each step feeds one input vector,
 * the drafts' last-token embeddings weighted by π = softmax(draft scores), runs one forward pass, and reads
 * back the top-n (id, logit) pairs of the shared next-token distribution. On the CPU each draft scores those
 * candidates with its own n-gram interpolation, and the best k of the k×n extensions survive (beam style:
 * the top 2k are split into k alive drafts and finished ones that ended with EOS).
 * Tokens that every draft shares are final and stream as they appear; the rest of the best draft follows at
 * the end. With k = 1 and α = 0 this is greedy decoding.
 * Under a constraint each draft keeps its own state: the shared logits are masked by the union of the alive drafts'
 * masks before the top-n, and a draft is extended only by the candidates its own mask allows.
 */
export class Superposed implements DecodeStrategy {
  constructor(private readonly options: SuperposedOptions) {}

  async run(ctx: DecodeContext): Promise<void> {
    const { model, gpu } = ctx;
    const { drafts: k, tokensPerDraft: n, temperature } = this.options; // validated (api/validate.ts)
    const alpha = ctx.ngrams ? this.options.ngramWeight : 0;
    ctx.stats.ngrams = this.options.ngramWeight === 0 ? 'off' : ctx.ngrams ? 'used' : 'missing';
    const buffer = (label: string, count: number) => storageBuffer(gpu, `superposed.${label}`, 4 * count);
    const ids = buffer('ids', k);           // [k] u32 last token of each draft
    const weights = buffer('weights', k);   // [k] f32 π
    const top = buffer('top', 2 * n);       // [2n] top-n ids, then their logits as f32 bits
    const words = maskWords(model.config.vocab);
    const union = buffer('mask', ctx.constraint ? words : 1); // [maskWords(vocab)] u32 tokens some alive draft allows
    const prompt = ctx.prompt;
    const budget = Math.min(ctx.remaining(), model.kv.maxSeq - model.kv.length);
    let alive: Draft[] = [{ tokens: [], score: 0, constraint: ctx.constraint?.fork() }];
    let finished: Draft[] = [];
    let streamed = 0;
    // The pass for the next step is recorded while the GPU runs this one; only ids and weights change between
    // steps (written before its submit), unless the number of alive drafts changed.
    const record = (count: number, position: number): Recorded => {
      const step = ctx.newStep();
      superposeEmbed(gpu, step, { ids, weights, count, table: model.weights.embed, out: model.act.x, scale: model.config.embedScale });
      model.layers(step, 1, position);
      model.head(step, 1);
      if (ctx.constraint) maskRows(gpu, step, { logits: model.act.logits, rows: 1, vocab: model.config.vocab, masks: union, firstMask: 0 });
      topN(gpu, step, { logits: model.act.logits, vocab: model.config.vocab, n, out: top });
      step.read(top, 0, 8 * n);
      return { step, count };
    };
    let next = null as Recorded | null;
    try {
      for (let t = 0; t < budget && alive.length > 0 && !ctx.shouldStop(); t++) {
        const last = alive.map((d) => (d.tokens.length ? d.tokens[d.tokens.length - 1] : prompt[prompt.length - 1]));
        gpu.device.queue.writeBuffer(ids, 0, Uint32Array.from(last));
        gpu.device.queue.writeBuffer(weights, 0, Float32Array.from(draftWeights(alive)));
        if (ctx.constraint) gpu.device.queue.writeBuffer(union, 0, unionMask(alive, words));
        if (next?.count !== alive.length) {
          next?.step.discard();
          next = record(alive.length, model.kv.length);
        }
        const pass = next.step.submit();
        next = t + 1 < budget ? record(alive.length, model.kv.length + 1) : null;
        const [topBytes] = await pass;
        model.kv.extend(1);
        ctx.stats.forwardPasses++;
        const candidates = Array.from(new Uint32Array(topBytes, 0, n));
        const topLogits = new Float32Array(topBytes, 4 * n, n);
        if (topLogits.some((l) => Number.isNaN(l) || l === Infinity)) {
          throw new NonFiniteError(`the model produced NaN or infinite logits after ${t} superposed steps (non-finite weights or activations)`, { step: t });
        }
        const logP = candidateLogProbs(topLogits, temperature);
        ({ alive, finished } = this.extend(ctx, alive, finished, candidates, logP, alpha));
        ctx.emitDrafts(ranked(alive, finished, k).map((d) => view(ctx, d)));
        if (finished.length && (!alive.length || finished[0].score >= alive[0].score)) break; // scores only fall
        const shared = commonPrefix([...alive, ...finished]);
        if (shared > streamed) {
          const more = ctx.emit(alive[0].tokens.slice(streamed, shared));
          streamed = shared;
          if (!more) return;
        }
      }
      const best = ranked(alive, finished, 1)[0];
      if (best && best.tokens.length > streamed) ctx.emit(best.tokens.slice(streamed));
    } finally {
      next?.step.discard();
      for (const b of [ids, weights, top, union]) b.destroy();
    }
  }

  /** Score every (draft, candidate) extension and keep the best 2k: k alive, and the finished (EOS) ones. */
  private extend(ctx: DecodeContext, alive: Draft[], finished: Draft[], candidates: number[], logP: number[], alpha: number): { alive: Draft[]; finished: Draft[] } {
    const k = this.options.drafts;
    const extensions: (Draft & { from: Draft })[] = [];
    for (const d of alive) {
      const q = alpha > 0 && ctx.ngrams ? ngramProbabilities(ctx.ngrams, [...ctx.prompt, ...d.tokens], candidates) : candidates.map(() => 0);
      candidates.forEach((v, i) => {
        if (d.mask && !(d.mask[v >>> 5] & (1 << (v & 31)))) return; // not allowed by this draft's constraint
        extensions.push({ tokens: [...d.tokens, v], score: d.score + interpolatedScore(logP[i], q[i], alpha), from: d });
      });
    }
    const best = extensions.sort((a, b) => b.score - a.score).slice(0, 2 * k);
    const ended = (d: Draft) => ctx.eosIds.has(d.tokens[d.tokens.length - 1]);
    const continued = ({ tokens, score, from }: Draft & { from: Draft }): Draft => {
      const constraint = from.constraint?.fork();
      constraint?.advance(tokens[tokens.length - 1]);
      return { tokens, score, constraint };
    };
    return {
      alive: best.filter((d) => !ended(d)).slice(0, k).map(continued),
      finished: [...finished, ...best.filter(ended)].sort((a, b) => b.score - a.score).slice(0, k),
    };
  }
}

/** The OR of the alive drafts' masks (each computed here, once per step), so the top-n holds only tokens some draft allows. */
function unionMask(alive: Draft[], words: number): Uint32Array<ArrayBuffer> {
  const out = new Uint32Array(words);
  for (const d of alive) {
    d.mask = d.constraint!.mask();
    for (let w = 0; w < words; w++) out[w] |= d.mask[w];
  }
  return out;
}

/** π = softmax of the drafts' cumulative scores. */
function draftWeights(drafts: Draft[]): number[] {
  const top = Math.max(...drafts.map((d) => d.score));
  const e = drafts.map((d) => Math.exp(d.score - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

function ranked(alive: Draft[], finished: Draft[], count: number): Draft[] {
  return [...alive, ...finished].sort((a, b) => b.score - a.score).slice(0, count);
}

/** Length of the token prefix all drafts share (final: every future draft extends one of them). */
function commonPrefix(drafts: Draft[]): number {
  const first = drafts[0].tokens;
  let len = Math.min(...drafts.map((d) => d.tokens.length));
  for (const d of drafts) {
    let i = 0;
    while (i < len && d.tokens[i] === first[i]) i++;
    len = i;
  }
  return len;
}

function view(ctx: DecodeContext, d: Draft): DraftView {
  const tokens = d.tokens.filter((t) => !ctx.eosIds.has(t));
  return { tokens, text: ctx.detokenize(tokens), score: d.score };
}
