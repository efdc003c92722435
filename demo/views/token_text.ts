/**
 * Streams generated text into spans coloured by token origin. Events carry one text delta for several
 * tokens; where an event mixes origins (accepted drafts, then the verifier's correction or bonus token),
 * the split point comes from detokenizing the prefix, so the visible text is always exactly the stream.
 */
import type { GenerateEvent, TokenOrigin } from '../../src/browser/index';
import { h } from '../dom';

type TokensEvent = Extract<GenerateEvent, { type: 'tokens' }>;

/** Consecutive tokens of one origin: [origin, index one past the run's last token]. */
function runs(origins: TokenOrigin[]): [TokenOrigin, number][] {
  const out: [TokenOrigin, number][] = [];
  origins.forEach((origin, i) => {
    const last = out[out.length - 1];
    if (last && last[0] === origin) last[1] = i + 1;
    else out.push([origin, i + 1]);
  });
  return out;
}

export class TokenText {
  private tokens: number[] = [];
  private text = '';

  constructor(readonly root: HTMLElement, private readonly detokenize: (ids: number[]) => Promise<string>) {}

  get value(): string {
    return this.text;
  }

  get tokenCount(): number {
    return this.tokens.length;
  }

  reset(): void {
    this.tokens = [];
    this.text = '';
    this.root.replaceChildren();
  }

  append(event: TokensEvent): void {
    const start = this.text.length;
    const base = this.tokens.length;
    this.tokens.push(...event.tokens);
    this.text += event.text;
    if (!event.text) return;
    const parts = runs(event.origins ?? event.tokens.map(() => 'plain'));
    const span = this.span(event.text, parts[0]?.[0] ?? 'plain');
    this.root.append(span);
    if (parts.length > 1) {
      // a failed split (engine gone) keeps the single span: the text is right, only the colours are coarse
      this.split(span, event.text, start, parts.map(([origin, end]) => [origin, base + end])).catch(() => undefined);
    }
  }

  /** Replaces `span` by one span per origin run; `parts` ends are absolute token indices. */
  private async split(span: HTMLElement, text: string, start: number, parts: [TokenOrigin, number][]): Promise<void> {
    const prefixes = parts.slice(0, -1).map(([, end]) => this.tokens.slice(0, end));
    const decoded = await Promise.all(prefixes.map((ids) => this.detokenize(ids)));
    const cuts = decoded.map((t) => Math.min(text.length, Math.max(0, t.replace(/\uFFFD+$/, '').length - start)));
    const bounds = [0, ...cuts, text.length];
    const pieces = parts
      .map(([origin], i) => this.span(text.slice(bounds[i], Math.max(bounds[i], bounds[i + 1])), origin))
      .filter((piece) => piece.textContent);
    if (span.isConnected) span.replaceWith(...pieces);
  }

  private span(text: string, origin: TokenOrigin): HTMLSpanElement {
    return h('span', { class: `tok tok-${origin}`, 'data-origin': origin, title: origin }, text);
  }
}
