/** The strategy picker and its settings, turned into the API's `Strategy` value. */
import type { Strategy } from '../../src/browser/index';
import { field, fill, h } from '../dom';

type StrategyKind = Strategy['kind'];

const strategyOptions: [StrategyKind, string][] = [
  ['greedy', 'greedy'],
  ['sample', 'sample (temperature, top-k, top-p)'],
  ['self-speculative', 'self-speculative (early-exit drafts)'],
  ['superposed', 'superposed (k drafts, one pass per step)'],
];

function numberInput(testid: string, value: number, min: number, max: number, step: number): HTMLInputElement {
  return h('input', { type: 'number', testid, value, min, max, step, inputmode: 'decimal' });
}

function choice(testid: string, options: [string, string][]): HTMLSelectElement {
  return h('select', { testid }, ...options.map(([value, label]) => h('option', { value }, label)));
}

export class StrategySettings {
  readonly kind = choice('strategy', strategyOptions);
  private readonly panel = h('div', { class: 'row settings', testid: 'strategy-settings' });
  private readonly temperature = numberInput('sample-temperature', 0.8, 0.05, 2, 0.05);
  private readonly topK = numberInput('sample-top-k', 40, 0, 2048, 1);
  private readonly topP = numberInput('sample-top-p', 0.95, 0.05, 1, 0.05);
  private readonly seed = numberInput('sample-seed', 1, 0, 2 ** 31 - 1, 1);
  private readonly exitLayer = choice('spec-exit-layer', [['auto', 'auto (DEL)']]);
  private readonly draftLength = choice('spec-draft-length', [['auto', 'auto'], ...[1, 2, 3, 4, 5, 6, 8].map((n): [string, string] => [String(n), String(n)])]);
  private readonly confidence = numberInput('spec-confidence', 0, 0, 1, 0.05);
  private readonly drafts = numberInput('superposed-drafts', 3, 1, 8, 1);
  private readonly ngramWeight = numberInput('superposed-ngram-weight', 0.54, 0, 1, 0.02);
  private readonly superTemperature = numberInput('superposed-temperature', 0.06, 0.01, 2, 0.01);

  constructor(onChange: () => void) {
    this.kind.addEventListener('change', () => {
      this.show();
      onChange();
    });
    this.show();
  }

  get element(): HTMLElement {
    return this.panel;
  }

  /** Exit-layer choices depend on the model's depth (drafting with every layer would be pointless). */
  setLayers(layers: number): void {
    const options = [['auto', 'auto (DEL)'], ...Array.from({ length: Math.max(0, layers - 1) }, (_, i) => [String(i + 1), `layer ${i + 1}`])];
    const previous = this.exitLayer.value;
    fill(this.exitLayer, ...options.map(([value, label]) => h('option', { value }, label)));
    this.exitLayer.value = options.some(([v]) => v === previous) ? previous : 'auto';
  }

  value(): Strategy {
    switch (this.kind.value as StrategyKind) {
      case 'greedy':
        return { kind: 'greedy' };
      case 'sample':
        return { kind: 'sample', temperature: this.temperature.valueAsNumber, topK: this.topK.valueAsNumber, topP: this.topP.valueAsNumber, seed: this.seed.valueAsNumber };
      case 'self-speculative':
        return {
          kind: 'self-speculative',
          exitLayer: this.exitLayer.value === 'auto' ? 'auto' : Number(this.exitLayer.value),
          draftLength: this.draftLength.value === 'auto' ? 'auto' : Number(this.draftLength.value),
          confidenceThreshold: this.confidence.valueAsNumber,
        };
      case 'superposed':
        return { kind: 'superposed', drafts: this.drafts.valueAsNumber, ngramWeight: this.ngramWeight.valueAsNumber, temperature: this.superTemperature.valueAsNumber };
    }
  }

  private show(): void {
    const controls: Record<StrategyKind, HTMLElement[]> = {
      greedy: [],
      sample: [field('Temperature', this.temperature), field('Top-k', this.topK), field('Top-p', this.topP), field('Seed', this.seed)],
      'self-speculative': [field('Exit layer', this.exitLayer), field('Draft length', this.draftLength), field('Stop drafting below p', this.confidence)],
      superposed: [field('Drafts k', this.drafts), field('N-gram weight α', this.ngramWeight), field('Temperature', this.superTemperature)],
    };
    fill(this.panel, ...controls[this.kind.value as StrategyKind]);
  }
}
