import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';
import { MAX_TOP_LOGPROBS } from '../contract/validate';

/** Bit 31 of a counts entry: the token occurs in the prompt (the repetition penalty's "seen"); bits 0-30 count generations. */
export const IN_PROMPT = 0x80000000;

const ELEMENTWISE_WG = 64;

/** The penalties of shaders/misc/logit_controls.wgsl; 0, 0, 1 leave logits unchanged. */
export interface Penalties {
  frequency: number;
  presence: number;
  repetition: number;
}

/**
 * In place on logits row `row`: repetition, frequency and presence penalties from `counts` ([vocab] u32), plus
 * `bias` ([vocab] f32), then, when `masked`, -inf for every token whose bit in `mask` ([ceil(vocab / 32)] u32) is clear.
 */
export function applyLogitControls(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; row: number; vocab: number; counts: GPUBuffer; bias: GPUBuffer; mask: GPUBuffer; masked: boolean; penalties: Penalties },
): void {
  const k = kernel(gpu, { shader: 'misc/logit_controls', overrides: { WG: ELEMENTWISE_WG } });
  const { frequency, presence, repetition } = a.penalties;
  step.dispatch(k, [a.logits, a.counts, a.bias, a.mask], { vocab: a.vocab, row: a.row, frequency, presence, repetition, masked: a.masked ? 1 : 0 }, grid1d(gpu, Math.ceil(a.vocab / ELEMENTWISE_WG)));
}

/** u32 words of one constraint mask over `vocab` tokens. */
export const maskWords = (vocab: number) => Math.ceil(vocab / 32);

/**
 * In place on logits rows 0..rows-1: row r gets -inf for every token whose bit is clear in mask firstMask + r of
 * `masks` ([masks, maskWords(vocab)] u32): a speculative round's drafts and verify rows each see their own position's mask.
 */
export function maskRows(gpu: Gpu, step: Step, a: { logits: GPUBuffer; rows: number; vocab: number; masks: GPUBuffer; firstMask: number }): void {
  const k = kernel(gpu, { shader: 'misc/mask_rows', overrides: { WG: ELEMENTWISE_WG } });
  step.dispatch(k, [a.logits, a.masks], { vocab: a.vocab, rows: a.rows, firstMask: a.firstMask }, grid1d(gpu, Math.ceil((a.rows * a.vocab) / ELEMENTWISE_WG)));
}

/** counts[tokens[index]] += 1: the token chosen on the GPU joins the penalties' counts without a readback. */
export function countToken(gpu: Gpu, step: Step, a: { tokens: GPUBuffer; index: number; counts: GPUBuffer }): void {
  const k = kernel(gpu, { shader: 'misc/count_token' });
  step.dispatch(k, [a.tokens, a.counts], { index: a.index }, [1]);
}


/** u32 words of one logprobs record: the chosen token's logprob, then (id, logprob) per top entry. */
export const logprobWords = (top: number) => 1 + 2 * top;

/**
 * out[outOffset..outOffset + 1 + 2 * top) = log-softmax of logits row `row` at tokens[tokenIndex], then the `top`
 * largest entries as (id, logprob bits) in (logprob descending, id ascending) order.
 */
export function logprobs(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; row: number; vocab: number; tokens: GPUBuffer; tokenIndex: number; top: number; out: GPUBuffer; outOffset: number },
  width = gpu.tuning.vocabRow,
): void {
  if (!(a.top >= 0 && a.top <= MAX_TOP_LOGPROBS)) throw new Error(`logprobs: top ${a.top} is outside [0, ${MAX_TOP_LOGPROBS}]`);
  const k = kernel(gpu, { shader: 'misc/logprobs', overrides: { WG: width } });
  step.dispatch(k, [a.logits, a.tokens, a.out], { vocab: a.vocab, row: a.row, tokenIndex: a.tokenIndex, top: a.top, outOffset: a.outOffset }, [1]);
}
