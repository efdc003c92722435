/** Live view of self-speculative rounds: chosen exit layer and draft length per round, acceptance per exit layer. */
import type { GenerateStats, RoundInfo } from '../../src/browser/index';
import { BarChart, colors, RoundsChart } from '../charts';
import { h } from '../dom';
import { percent } from '../format';

export class SpeculationPanel {
  readonly element: HTMLElement;
  private readonly rounds: RoundsChart;
  private readonly acceptance: BarChart;
  private readonly summary = h('p', { class: 'status', testid: 'spec-summary' });
  private readonly byLayer = new Map<number, { drafted: number; accepted: number }>();

  constructor() {
    const roundsBox = h('div', { class: 'chart', testid: 'rounds-chart' });
    const acceptanceBox = h('div', { class: 'chart', testid: 'acceptance-chart' });
    this.element = h('div', { class: 'speculation', testid: 'speculation', hidden: true },
      h('div', { class: 'legend' },
        h('span', { class: 'tok tok-accepted' }, 'accepted draft'), h('span', { class: 'tok tok-corrected' }, 'correction'),
        h('span', { class: 'tok tok-bonus' }, 'bonus token')),
      this.summary,
      h('div', { class: 'charts' },
        h('figure', {}, h('figcaption', {}, 'Exit layer and draft length per round'), roundsBox),
        h('figure', {}, h('figcaption', {}, 'Acceptance rate per exit layer'), acceptanceBox)),
    );
    this.rounds = new RoundsChart(roundsBox);
    this.acceptance = new BarChart(acceptanceBox, 'acceptance', colors.accepted, percent);
  }

  reset(visible: boolean): void {
    this.element.hidden = !visible;
    this.byLayer.clear();
    this.rounds.reset();
    this.acceptance.set([], []);
    this.summary.textContent = '';
  }

  round(round: RoundInfo): void {
    this.rounds.push(round);
    const layer = this.byLayer.get(round.exitLayer) ?? { drafted: 0, accepted: 0 };
    layer.drafted += round.drafted;
    layer.accepted += round.accepted;
    this.byLayer.set(round.exitLayer, layer);
    this.showAcceptance(this.byLayer);
  }

  /** The final stats may cover more layers than the rounds used (shadow tokens measure every layer). */
  finish(stats: GenerateStats): void {
    const table = stats.acceptanceByExitLayer;
    if (table && Object.keys(table).length > 0) this.showAcceptance(new Map(Object.entries(table).map(([k, v]) => [Number(k), v])));
    if (stats.drafted !== undefined && stats.accepted !== undefined) {
      this.summary.textContent = `${stats.accepted} of ${stats.drafted} drafted tokens accepted (${percent(stats.accepted / stats.drafted)}); ${stats.decodeTokens} tokens in ${stats.forwardPasses} forward passes.`;
    }
  }

  private showAcceptance(table: Map<number, { drafted: number; accepted: number }>): void {
    const layers = [...table.keys()].sort((a, b) => a - b).filter((l) => table.get(l)!.drafted > 0);
    this.acceptance.set(layers.map((l) => `L${l}`), layers.map((l) => table.get(l)!.accepted / table.get(l)!.drafted));
  }
}
