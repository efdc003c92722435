/** Coalesces a request's events so a stream costs one message per ~16 ms, never one per token. */
import type { GenerateEvent } from '../contract/types';

type TokensEvent = Extract<GenerateEvent, { type: 'tokens' }>;

/** Plain decode steps merge into one tokens event; speculative rounds keep their own event (they carry RoundInfo). */
function mergeable(a: GenerateEvent | undefined, b: GenerateEvent): a is TokensEvent {
  return a?.type === 'tokens' && b.type === 'tokens' && !a.round && !b.round;
}

function merge(a: TokensEvent, b: TokensEvent): TokensEvent {
  const merged: TokensEvent = { type: 'tokens', tokens: [...a.tokens, ...b.tokens], text: a.text + b.text };
  if (a.origins || b.origins) {
    merged.origins = [...(a.origins ?? a.tokens.map(() => 'plain' as const)), ...(b.origins ?? b.tokens.map(() => 'plain' as const))];
  }
  return merged;
}

export class EventBatcher {
  private pending: GenerateEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly post: (events: GenerateEvent[]) => void, private readonly intervalMs = 16) {}

  push(event: GenerateEvent): void {
    const last = this.pending[this.pending.length - 1];
    if (mergeable(last, event)) this.pending[this.pending.length - 1] = merge(last, event as TokensEvent);
    else this.pending.push(event);
    if (event.type === 'done') this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.post(events);
  }
}
