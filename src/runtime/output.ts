import type { GenerateEvent, GenerateResult, GenerateStats, RoundInfo, TokenLogprob, TokenOrigin } from '../contract/types';

/**
 * Collects generated tokens, turns them into text deltas (holding back incomplete UTF-8 sequences),
 * and decides when generation ends: max tokens, EOS, or a stop string.
 */
export class OutputCollector {
  readonly tokens: number[] = [];
  /** one per token of `tokens` when the strategy reports logprobs */
  private readonly logprobs: TokenLogprob[] = [];
  private text = '';
  private emittedChars = 0;
  finishReason: GenerateResult['finishReason'] = 'length';
  private done = false;

  constructor(
    private readonly decode: (ids: number[]) => string,
    private readonly emitEvent: (ev: GenerateEvent) => void,
    private readonly maxTokens: number,
    /** tokens that end generation (empty when the request keeps going through EOS) */
    private readonly eosIds: ReadonlySet<number>,
    private readonly stops: string[],
  ) {}

  get finished(): boolean {
    return this.done;
  }

  remaining(): number {
    return this.done ? 0 : this.maxTokens - this.tokens.length;
  }

  /** Append tokens; returns false once generation must end. */
  push(tokens: number[], origins?: TokenOrigin[], round?: RoundInfo, logprobs?: TokenLogprob[]): boolean {
    if (this.done) return false;
    const accepted: number[] = [];
    for (const t of tokens) {
      if (this.eosIds.has(t)) {
        this.finish('eos');
        break;
      }
      if (logprobs) this.logprobs.push(logprobs[accepted.length]);
      accepted.push(t);
      this.tokens.push(t);
      if (this.tokens.length >= this.maxTokens) {
        this.finish('length');
        break;
      }
    }
    this.text = this.decode(this.tokens);
    const stopAt = this.firstStop();
    if (stopAt >= 0) {
      this.text = this.text.slice(0, stopAt);
      this.finish('stop');
    }
    const safeEnd = this.done ? this.text.length : this.text.replace(/\uFFFD+$/, '').length;
    const delta = this.text.slice(this.emittedChars, Math.max(this.emittedChars, safeEnd));
    this.emittedChars = Math.max(this.emittedChars, safeEnd);
    if (accepted.length > 0 || delta) {
      this.emitEvent({ type: 'tokens', tokens: accepted, text: delta, ...(origins ? { origins: origins.slice(0, accepted.length) } : {}), ...(round ? { round } : {}), ...(logprobs ? { logprobs: logprobs.slice(0, accepted.length) } : {}) });
    }
    return !this.done;
  }

  abort(): void {
    if (!this.done) this.finish('aborted');
  }

  result(stats: GenerateStats, extra: Partial<GenerateResult> = {}): GenerateResult {
    const logprobs = this.logprobs.length > 0 ? { logprobs: [...this.logprobs] } : {};
    return { text: this.text, tokens: [...this.tokens], finishReason: this.finishReason, aborted: this.finishReason === 'aborted', stats, ...logprobs, ...extra };
  }

  private finish(reason: GenerateResult['finishReason']): void {
    this.done = true;
    this.finishReason = reason;
  }

  private firstStop(): number {
    let at = -1;
    for (const s of this.stops) {
      const i = this.text.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    return at;
  }
}
