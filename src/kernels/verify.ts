import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';

/** Workgroup width of per-row reductions: narrow on CPU adapters, where wide barriers are slow. */

/**
 * Greedy acceptance of `drafts` draft tokens (tokens[draftsOffset..]) against targets[0..drafts] (the argmax
 * of each verify row). Writes out[outOffset..] = [n, d_1..d_n, correction or bonus].
 */
export function acceptGreedy(
  gpu: Gpu,
  step: Step,
  a: { tokens: GPUBuffer; draftsOffset: number; drafts: number; targets: GPUBuffer; out: GPUBuffer; outOffset: number },
): void {
  const k = kernel(gpu, {
    shader: 'decode/accept_greedy',
  });
  step.dispatch(k, [a.tokens, a.targets, a.out], { drafts: a.drafts, draftsOffset: a.draftsOffset, outOffset: a.outOffset }, [1]);
}

export interface AcceptSampledArgs {
  /** [drafts + 1, vocab] target probabilities of the verify rows */
  p: GPUBuffer;
  /** [drafts, vocab] the distributions the drafts were sampled from (same temperature/top-k/top-p transform) */
  q: GPUBuffer;
  tokens: GPUBuffer;
  draftsOffset: number;
  drafts: number;
  vocab: number;
  /** [uniformsOffset + drafts + 1] f32 uniforms in [0, 1): one per acceptance test, one for the drawn token */
  uniforms: GPUBuffer;
  uniformsOffset: number;
  out: GPUBuffer;
  outOffset: number;
}

/** Rejection-sampling acceptance (lossless for sampling). Writes out[outOffset..] = [n, d_1..d_n, drawn token]. */
export function acceptSampled(gpu: Gpu, step: Step, a: AcceptSampledArgs, width = gpu.tuning.vocabRow): void {
  const k = kernel(gpu, { shader: 'decode/accept_sampled', overrides: { WG: width } });
  const { drafts, vocab, draftsOffset, uniformsOffset, outOffset } = a;
  step.dispatch(k, [a.p, a.q, a.tokens, a.uniforms, a.out], { drafts, vocab, draftsOffset, uniformsOffset, outOffset }, [1]);
}

/** out[outOffset + r] = top-1 probability of softmax(logits row r), for r < rows (Kangaroo's draft confidence). */
export function draftConfidence(gpu: Gpu, step: Step, a: { logits: GPUBuffer; rows: number; vocab: number; out: GPUBuffer; outOffset: number }, width = gpu.tuning.vocabRow): void {
  const k = kernel(gpu, { shader: 'decode/draft_confidence', overrides: { WG: width } });
  step.dispatch(k, [a.logits, a.out], { vocab: a.vocab, outOffset: a.outOffset }, [a.rows]);
}
