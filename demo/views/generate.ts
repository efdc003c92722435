/** Generate view: prompt, strategy and settings, streamed output, abort, and a side-by-side run against greedy. */
import type { DraftView, GenerateRequest, GenerateResult, Strategy } from '../../src/browser/index';
import { field, fill, h } from '../dom';
import { explain, showBanner } from '../errors';
import { count, rate, tokensPerSecond } from '../format';
import type { Session } from '../session';
import { SpeculationPanel } from './speculation';
import { StrategySettings } from './strategy';
import { TokenText } from './token_text';

// the shipped models were trained on fortune-cookie text
const DEFAULT_PROMPT = 'You will';

/** One output column: a heading with its rate, and the coloured text. */
class Pane {
  readonly element: HTMLElement;
  readonly text: TokenText;
  private readonly heading = h('h3', {});
  private readonly rateLine = h('span', { class: 'rate' });

  constructor(testid: string, session: Session) {
    const body = h('div', { class: 'output', testid: `${testid}-text`, 'aria-live': 'polite' });
    this.element = h('div', { class: 'pane', testid }, h('div', { class: 'pane-head' }, this.heading, this.rateLine), body);
    this.rateLine.dataset.testid = `${testid}-rate`;
    this.text = new TokenText(body, (ids) => session.engine?.detokenize(ids) ?? Promise.resolve(''));
  }

  reset(title: string): void {
    this.heading.textContent = title;
    this.rateLine.textContent = '';
    this.text.reset();
  }

  finish(result: GenerateResult): void {
    const s = result.stats;
    this.rateLine.textContent = `${rate(tokensPerSecond(s.decodeTokens, s.decodeMs))} · ${count(s.forwardPasses)} passes`;
  }
}

export class GenerateView {
  private readonly prompt = h('textarea', { testid: 'prompt', rows: 3, spellcheck: false }, DEFAULT_PROMPT);
  private readonly maxTokens = h('input', { type: 'number', testid: 'max-tokens', value: 48, min: 1, max: 1024, step: 1 });
  private readonly compare = h('input', { type: 'checkbox', testid: 'compare' });
  private readonly strategy = new StrategySettings(() => this.onStrategy());
  private readonly runButton = h('button', { class: 'primary', testid: 'generate', disabled: true }, 'Generate');
  private readonly abortButton = h('button', { testid: 'abort', disabled: true }, 'Abort');
  private readonly status = h('p', { class: 'status', testid: 'gen-status', 'aria-live': 'polite' }, 'Load a model to start.');
  private readonly main: Pane;
  private readonly greedy: Pane;
  private readonly verdict = h('div', { class: 'verdict', testid: 'compare-summary', hidden: true });
  private readonly drafts = h('ol', { class: 'drafts', testid: 'gen-drafts', hidden: true });
  private readonly speculation = new SpeculationPanel();
  private running: AbortController | undefined;

  constructor(private readonly root: HTMLElement, private readonly session: Session) {
    this.main = new Pane('main-output', session);
    this.greedy = new Pane('greedy-output', session);
    this.greedy.element.hidden = true;
    fill(root,
      h('h2', {}, 'Generate'),
      field('Prompt', this.prompt),
      h('div', { class: 'row' }, field('Strategy', this.strategy.kind), field('Max tokens', this.maxTokens),
        h('label', { class: 'check' }, this.compare, ' side by side with plain greedy')),
      this.strategy.element,
      h('div', { class: 'buttons' }, this.runButton, this.abortButton),
      this.status,
      h('div', { class: 'outputs' }, this.main.element, this.greedy.element),
      this.verdict,
      this.drafts,
      this.speculation.element,
    );
    this.runButton.addEventListener('click', () => void this.generate());
    this.abortButton.addEventListener('click', () => this.running?.abort());
    this.prompt.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void this.generate();
    });
    session.onEngine((info) => {
      // switching models ends the current run: its engine is being disposed
      if (!info) this.running?.abort();
      this.runButton.disabled = !info || !!this.running;
      if (info) {
        this.strategy.setLayers(info.layers);
        this.status.textContent = 'Ready.';
      } else {
        this.status.textContent = 'Load a model to start.';
      }
    });
    this.onStrategy();
  }

  /** Runs the chosen strategy, then (side by side) plain greedy on the same prompt. */
  async generate(): Promise<void> {
    if (this.running || !this.session.engine) return;
    const controller = new AbortController();
    this.setRunning(controller);
    const strategy = this.strategy.value();
    const withGreedy = this.compare.checked && !this.compare.disabled;
    this.main.reset(strategy.kind);
    this.greedy.reset('greedy');
    this.greedy.element.hidden = !withGreedy;
    this.verdict.hidden = true;
    this.drafts.hidden = true;
    this.speculation.reset(strategy.kind === 'self-speculative');
    try {
      const result = await this.stream(this.main, strategy, controller.signal);
      if (withGreedy && !result.aborted) {
        this.status.textContent = 'Running plain greedy for comparison…';
        const greedy = await this.stream(this.greedy, { kind: 'greedy' }, controller.signal);
        if (!greedy.aborted) this.showComparison(strategy, result, greedy);
        this.finishStatus(greedy.aborted ? greedy : result);
      } else {
        this.finishStatus(result);
      }
    } catch (e) {
      const { problem, message } = explain(e);
      this.root.dataset.state = controller.signal.aborted ? 'aborted' : 'error';
      this.status.textContent = controller.signal.aborted ? 'Stopped.' : `Generation failed. ${message}`;
      if (!controller.signal.aborted && problem !== 'device-lost') showBanner(problem, message);
    } finally {
      this.setRunning(undefined);
    }
  }

  private async stream(pane: Pane, strategy: Strategy, signal: AbortSignal): Promise<GenerateResult> {
    const request: GenerateRequest = { prompt: this.prompt.value, maxTokens: this.maxTokens.valueAsNumber || 48, strategy, signal };
    const label = strategy.kind;
    for await (const event of this.session.run(label, request)) {
      if (event.type === 'tokens') {
        pane.text.append(event);
        if (pane === this.main && event.round) this.speculation.round(event.round);
        this.status.textContent = `Generating (${label})… ${pane.text.tokenCount} tokens`;
      } else if (event.type === 'drafts') {
        this.showDrafts(event.drafts);
      } else {
        pane.finish(event.result);
        if (pane === this.main) this.speculation.finish(event.result.stats);
        if (event.result.drafts) this.showDrafts(event.result.drafts);
        return event.result;
      }
    }
    throw new Error('the generation stream ended without a result');
  }

  private showComparison(strategy: Strategy, result: GenerateResult, greedy: GenerateResult): void {
    const ours = tokensPerSecond(result.stats.decodeTokens, result.stats.decodeMs);
    const base = tokensPerSecond(greedy.stats.decodeTokens, greedy.stats.decodeMs);
    const identical = this.main.text.value === this.greedy.text.value;
    const speedup = ours / base;
    const verdict = h('strong', { testid: 'compare-verdict', 'data-identical': String(identical), class: identical ? 'ok' : 'differs' },
      identical ? '✓ identical text' : strategy.kind === 'sample' || strategy.kind === 'superposed' ? 'texts differ (not a lossless greedy strategy)' : '✗ texts differ');
    fill(this.verdict,
      verdict,
      h('span', {}, ` ${strategy.kind} ${rate(ours)} vs greedy ${rate(base)} · speedup `),
      h('strong', { testid: 'compare-speedup' }, Number.isFinite(speedup) ? `${speedup.toFixed(2)}×` : '–'),
    );
    this.verdict.hidden = false;
  }

  private showDrafts(drafts: DraftView[]): void {
    fill(this.drafts, ...drafts.map((d) => h('li', { testid: 'gen-draft' }, h('span', { class: 'draft-text' }, d.text), h('span', { class: 'score' }, d.score.toFixed(2)))));
    this.drafts.hidden = drafts.length === 0;
  }

  private finishStatus(result: GenerateResult): void {
    const s = result.stats;
    this.root.dataset.state = result.aborted ? 'aborted' : 'done';
    this.status.textContent = result.aborted
      ? `Aborted after ${count(result.tokens.length)} tokens.`
      : `Done: ${count(s.decodeTokens)} tokens at ${rate(tokensPerSecond(s.decodeTokens, s.decodeMs))} (prefill ${rate(tokensPerSecond(s.prefillTokens, s.prefillMs))}), finish: ${result.finishReason}.`;
  }

  private setRunning(controller: AbortController | undefined): void {
    this.running = controller;
    if (controller) this.root.dataset.state = 'running';
    this.runButton.disabled = !!controller || !this.session.engine;
    this.abortButton.disabled = !controller;
  }

  private onStrategy(): void {
    this.root.dataset.strategy = this.strategy.kind.value;
    // greedy side by side with greedy compares nothing
    this.compare.disabled = this.strategy.kind.value === 'greedy';
  }
}
