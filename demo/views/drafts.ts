/**
 * Superposed drafts as autocomplete: while the visitor types, one superposed run proposes k continuations
 * (Tab inserts the selected one, arrows choose). Its cost is measured against a plain greedy run of the
 * same length, which is what each of k separate runs would cost.
 */
import type { DraftView, GenerateResult } from '../../src/browser/index';
import { field, fill, h } from '../dom';
import { explain, showBanner } from '../errors';
import { ms } from '../format';
import type { Session } from '../session';

const DEBOUNCE_MS = 350;

/** Decode cost of one run, per generated step. */
function perStep(result: GenerateResult): { passes: number; ms: number } {
  const steps = Math.max(1, result.stats.decodeTokens);
  return { passes: result.stats.forwardPasses / steps, ms: result.stats.decodeMs / steps };
}

export class DraftsView {
  private readonly input = h('textarea', { testid: 'drafts-input', rows: 3, spellcheck: false, placeholder: 'Start typing: suggestions appear below. Tab accepts.' });
  private readonly k = h('input', { type: 'number', testid: 'drafts-k', value: 3, min: 2, max: 8, step: 1 });
  private readonly length = h('input', { type: 'number', testid: 'drafts-length', value: 6, min: 1, max: 32, step: 1 });
  private readonly list = h('ul', { class: 'suggestions', testid: 'drafts-suggestions', role: 'listbox' });
  private readonly status = h('p', { class: 'status', testid: 'drafts-status', 'aria-live': 'polite' }, 'Load a model, then type.');
  private readonly cost = h('div', { class: 'cost', testid: 'drafts-cost' });
  private drafts: DraftView[] = [];
  private selected = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: AbortController | undefined;

  constructor(private readonly root: HTMLElement, private readonly session: Session) {
    fill(root,
      h('h2', {}, 'Superposed drafts'),
      h('p', { class: 'hint' }, 'One forward pass per step advances k drafts at once: the input is the score-weighted sum of the drafts\' token embeddings, and an n-gram model tells the drafts apart.'),
      field('Text', this.input, 'Tab inserts the selected suggestion · ↑/↓ choose · Esc hides'),
      h('div', { class: 'row' }, field('Drafts k', this.k), field('Tokens per draft', this.length)),
      this.list,
      this.status,
      this.cost,
    );
    this.input.addEventListener('input', () => this.schedule());
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    for (const control of [this.k, this.length]) control.addEventListener('change', () => this.schedule());
    session.onEngine((info) => {
      this.status.textContent = info ? 'Type to get suggestions.' : 'Load a model, then type.';
      if (!info) this.cancel();
      else if (this.input.value.trim()) this.schedule();
    });
  }

  /** Inserts the selected suggestion after the text, then asks for the next ones. */
  accept(index = this.selected): void {
    const draft = this.drafts[index];
    if (!draft) return;
    this.input.value += draft.text;
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    this.schedule();
  }

  private onKey(e: KeyboardEvent): void {
    if (this.drafts.length === 0) return;
    if (e.key === 'Tab' && !e.shiftKey) {
      e.preventDefault();
      this.accept();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.select((this.selected + (e.key === 'ArrowDown' ? 1 : -1) + this.drafts.length) % this.drafts.length);
    } else if (e.key === 'Escape') {
      this.show([]);
    }
  }

  /** Old suggestions no longer continue the text: drop them now, ask again once typing pauses. */
  private schedule(): void {
    this.cancel();
    this.timer = setTimeout(() => void this.suggest(), DEBOUNCE_MS);
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.running?.abort();
    this.show([]);
  }

  private async suggest(): Promise<void> {
    const prompt = this.input.value;
    if (!this.session.engine || !prompt.trim()) return;
    const controller = new AbortController();
    this.running = controller;
    this.root.dataset.state = 'thinking';
    this.status.textContent = 'Thinking…';
    const k = this.k.valueAsNumber || 3;
    const maxTokens = this.length.valueAsNumber || 6;
    try {
      const superposed = await this.run('superposed', prompt, maxTokens, controller.signal, k);
      if (superposed.aborted || controller.signal.aborted) return;
      this.show(superposed.drafts ?? this.drafts);
      this.root.dataset.state = 'ready';
      this.status.textContent = `${this.drafts.length} suggestions from one superposed run.`;
      const greedy = await this.run('greedy', prompt, maxTokens, controller.signal);
      if (!greedy.aborted) this.showCost(k, superposed, greedy);
    } catch (e) {
      // a request cancelled by typing or by a model switch may end in an error from the engine going away
      if (controller.signal.aborted) return;
      const { problem, message } = explain(e);
      this.root.dataset.state = 'error';
      this.status.textContent = `Suggestions failed. ${message}`;
      if (problem !== 'device-lost') showBanner(problem, message);
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  private async run(kind: 'superposed' | 'greedy', prompt: string, maxTokens: number, signal: AbortSignal, k = 1): Promise<GenerateResult> {
    const strategy = kind === 'superposed' ? { kind, drafts: k } : { kind };
    for await (const event of this.session.run(kind === 'superposed' ? 'superposed (autocomplete)' : 'greedy (cost reference)', { prompt, maxTokens, strategy, signal })) {
      if (event.type === 'drafts' && kind === 'superposed' && !signal.aborted) this.show(event.drafts);
      if (event.type === 'done') return event.result;
    }
    throw new Error('the generation stream ended without a result');
  }

  private show(drafts: DraftView[]): void {
    this.drafts = drafts;
    this.selected = Math.min(this.selected, Math.max(0, drafts.length - 1));
    fill(this.list, ...drafts.map((d, i) => {
      const item = h('li', { testid: 'drafts-suggestion', role: 'option', 'data-index': i },
        h('span', { class: 'prefix' }, '…'), h('span', { class: 'draft-text', testid: 'drafts-suggestion-text' }, d.text),
        h('span', { class: 'score', testid: 'drafts-suggestion-score', title: 'cumulative draft score (log domain)' }, d.score.toFixed(2)));
      item.addEventListener('mousedown', (e) => {
        e.preventDefault();
        this.accept(i);
        this.input.focus();
      });
      return item;
    }));
    this.select(this.selected);
  }

  private select(index: number): void {
    this.selected = index;
    this.list.querySelectorAll('li').forEach((li, i) => li.setAttribute('aria-selected', String(i === index)));
  }

  private showCost(k: number, superposed: GenerateResult, greedy: GenerateResult): void {
    const ours = perStep(superposed);
    const one = perStep(greedy);
    const separate = { passes: one.passes * k, ms: one.ms * k };
    fill(this.cost,
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'per step'), h('th', {}, 'forward passes (incl. prefill)'), h('th', {}, 'decode time'))),
        h('tbody', {},
          h('tr', {}, h('td', {}, `superposed, k=${k}`), h('td', {}, ours.passes.toFixed(2)), h('td', { testid: 'cost-superposed' }, ms(ours.ms))),
          h('tr', {}, h('td', {}, `${k} separate greedy runs`), h('td', {}, separate.passes.toFixed(2)), h('td', { testid: 'cost-separate' }, ms(separate.ms))))),
      h('p', { testid: 'cost-ratio' }, `${k} drafts cost ${(separate.ms / ours.ms).toFixed(2)}× less per step than ${k} separate runs (measured: one greedy run of the same length × ${k}).`),
    );
  }
}
