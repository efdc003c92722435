import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import type { Transformer } from '../model/forward';
import type { GenerateStats, RoundInfo, TokenOrigin, DraftView, TokenLogprob } from '../contract/types';
import type { LogitControls } from './controls';
import type { NgramTable } from '../model/ngram';

/** What a decoding strategy needs: the model, a way to record GPU steps, and the output sink. */
export interface DecodeContext {
  gpu: Gpu;
  model: Transformer;
  prompt: number[];
  /** accept generated tokens; returns false once generation must end (EOS, stop string, max tokens) */
  emit(tokens: number[], origins?: TokenOrigin[], round?: RoundInfo, logprobs?: TokenLogprob[]): boolean;
  emitDrafts(drafts: DraftView[]): void;
  /** true once the caller aborted: stop between steps */
  shouldStop(): boolean;
  /** tokens still allowed before max tokens */
  remaining(): number;
  stats: GenerateStats;
  newStep(): Step;
  eosIds: ReadonlySet<number>;
  /** token ids -> text (draft views) */
  detokenize(ids: number[]): string;
  /** n-gram table for superposed decoding, when one was loaded */
  ngrams?: NgramTable;
  /** the request's penalties, bias, logprobs and mask on the GPU (one-row decoding: greedy, sample, self-speculative's plain bursts) */
  controls?: LogitControls;
  /** the request's output constraint (every strategy): the mask of each position, advanced per emitted token */
  constraint?: TokenConstraint;
}

/** Allowed tokens position by position (constrained decoding). */
export interface TokenConstraint {
  /** the next position's allowed tokens: bit t % 32 of word t / 32 */
  mask(): Uint32Array<ArrayBuffer>;
  /** the token chosen at the current position */
  advance(token: number): void;
  /** an independent copy at the same position (a draft's own state) */
  fork(): TokenConstraint;
}

export interface DecodeStrategy {
  /** Prefill is done by the runtime; the KV cache holds the prompt minus its last token. */
  run(ctx: DecodeContext): Promise<void>;
}
