import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { storageBuffer, uploadBuffer } from '../gpu/buffers';
import { applyLogitControls, countToken, IN_PROMPT, logprobs, logprobWords, type Penalties } from '../kernels/logit_controls';
import type { GenerateRequest, TokenLogprob } from '../contract/types';

/** What a request asks of the logits before a token is chosen, and of the choice after. */
export interface ControlOptions {
  penalties: Penalties;
  /** token id -> additive bias */
  logitBias: Map<number, number>;
  /** alternatives per logprobs record; undefined = no logprobs */
  topLogprobs?: number;
  /** a constraint's masks will be written with setMask */
  masked: boolean;
}

/** The controls a request names, or undefined when it names none (the plain argmax / sampling path). */
export function controlOptions(request: GenerateRequest, masked: boolean): ControlOptions | undefined {
  const penalties = { frequency: request.frequencyPenalty ?? 0, presence: request.presencePenalty ?? 0, repetition: request.repetitionPenalty ?? 1 };
  const logitBias = new Map(Object.entries(request.logitBias ?? {}).map(([id, b]) => [Number(id), b]));
  const topLogprobs = request.logprobs ? request.topLogprobs ?? 0 : undefined;
  const active = penalties.frequency !== 0 || penalties.presence !== 0 || penalties.repetition !== 1 || logitBias.size > 0 || topLogprobs !== undefined || masked;
  return active ? { penalties, logitBias, topLogprobs, masked } : undefined;
}

/**
 * The GPU side of a request's controls for one-row decoding: token counts (prompt bit + generations, updated on
 * the GPU by the chosen token), bias, constraint mask, and a ring of logprobs records read back with the token.
 */
export class LogitControls {
  private readonly counts: GPUBuffer;   // [vocab] u32
  private readonly bias: GPUBuffer;     // [vocab] f32
  private readonly mask: GPUBuffer;     // [ceil(vocab / 32)] u32
  private readonly records?: GPUBuffer; // [tokenCapacity, 1 + 2 * top] u32 logprobs records
  private readonly recordWords: number;

  constructor(private readonly gpu: Gpu, private readonly vocab: number, private readonly options: ControlOptions, prompt: number[], private readonly capacity: number) {
    const counts = new Uint32Array(vocab);
    for (const t of prompt) counts[t] = IN_PROMPT;
    this.counts = uploadBuffer(gpu, 'controls.counts', counts);
    const bias = new Float32Array(vocab);
    for (const [id, b] of options.logitBias) bias[id] = b;
    this.bias = uploadBuffer(gpu, 'controls.bias', bias);
    this.mask = storageBuffer(gpu, 'controls.mask', 4 * Math.ceil(vocab / 32));
    this.recordWords = logprobWords(options.topLogprobs ?? 0);
    if (options.topLogprobs !== undefined) this.records = storageBuffer(gpu, 'controls.logprobs', 4 * capacity * this.recordWords);
  }

  /** The allowed tokens of the next choice (bit t % 32 of word t / 32); queued before the step that applies it. */
  setMask(words: Uint32Array<ArrayBuffer>): void {
    this.gpu.device.queue.writeBuffer(this.mask, 0, words);
  }

  /** Records the changes to logits row 0 before a choice. */
  beforeChoice(step: Step, logits: GPUBuffer): void {
    applyLogitControls(this.gpu, step, {
      logits, row: 0, vocab: this.vocab, counts: this.counts, bias: this.bias, mask: this.mask, masked: this.options.masked, penalties: this.options.penalties,
    });
  }

  /** Records what follows the choice of tokens[index]: its count, and its logprobs record (read back with the step). */
  afterChoice(step: Step, logits: GPUBuffer, tokens: GPUBuffer, index: number): void {
    countToken(this.gpu, step, { tokens, index, counts: this.counts });
    if (!this.records) return;
    const slot = index % this.capacity;
    logprobs(this.gpu, step, { logits, row: 0, vocab: this.vocab, tokens, tokenIndex: index, top: this.options.topLogprobs ?? 0, out: this.records, outOffset: slot * this.recordWords });
    step.read(this.records, 4 * slot * this.recordWords, 4 * this.recordWords);
  }

  /** The logprobs record among a step's reads (after the token's), when logprobs were asked for. */
  logprob(token: number, read: ArrayBuffer | undefined): TokenLogprob | undefined {
    if (!this.records || !read) return undefined;
    const words = new Uint32Array(read);
    const f32 = new Float32Array(read);
    const top = Array.from({ length: this.options.topLogprobs ?? 0 }, (_, k) => ({ token: words[1 + 2 * k], logprob: f32[2 + 2 * k] }));
    return { token, logprob: f32[0], top };
  }

  destroy(): void {
    for (const b of [this.counts, this.bias, this.mask, this.records]) b?.destroy();
  }
}
