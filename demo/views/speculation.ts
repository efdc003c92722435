/** Live view of self-speculative rounds: chosen exit layer and draft length per round, acceptance per exit layer. */
import type { DelDecision, GenerateStats, RoundInfo } from '../../src/browser/index';
import { BarChart, colors, RoundsChart } from '../charts';
import { h } from '../dom';
import { percent } from '../format';

/** What each colour means: [origin, name, two lines of meaning]. */
const LEGEND: [string, string, string][] = [
  ['draft', 'draft', 'A token guessed by the first layers alone, at a fraction of a full pass. The full model then checks all of a round\'s drafts in one pass.'],
  ['accepted', 'accepted draft', 'A draft the full model agreed with: a token for the price of the early layers.'],
  ['corrected', 'correction', 'The full model disagreed with a draft: its own token replaces it, and the round\'s later drafts are dropped.'],
  ['bonus', 'bonus token', 'Every draft of the round was accepted: the checking pass also gives the next token at no extra cost.'],
  ['plain', 'plain', 'Decoded by one full pass without drafts: DEL judged that drafting would not pay in that round.'],
];

/** DEL's verdict in words: what it chose, and why, from the cost model's numbers. */
function explainDel(d: DelDecision, tokens: { draft: number; plain: number }): string {
  const best = d.bestDraft;
  const rate = percent(d.acceptance[best.exitLayer] ?? 0);
  const drafts = (n: number) => `${n} draft${n === 1 ? '' : 's'}`;
  const why = `the best drafting round (exit layer ${best.exitLayer}, ${drafts(best.draftLength)}) is worth ${best.gain.toFixed(2)}× a plain step's tokens per layer ` +
    `at the measured acceptance of ${rate} and a row cost ρ = ${d.rowCost.toFixed(2)} (each verified draft costs ${d.rowCost.toFixed(2)} of a full pass on this adapter)`;
  const chosen = d.verdict === 'draft' ? `drafting (${drafts(d.draftLength)} from layer ${d.exitLayer})` : 'a plain step';
  const verdict = d.probe ? `${chosen}, a probe of the alternative to DEL's choice (every 16th round) to keep both timings current; ${why}` : `${chosen}, since ${why}`;
  const cannot = d.draftingCannotWin ? ' Here drafting cannot win even if every draft were accepted: checking drafts costs nearly as much as decoding them one by one.' : '';
  return `DEL: ${tokens.draft} tokens from drafting rounds, ${tokens.plain} from plain steps. Last decision: ${verdict}.${cannot}`;
}

export class SpeculationPanel {
  readonly element: HTMLElement;
  private readonly rounds: RoundsChart;
  private readonly acceptance: BarChart;
  private readonly summary = h('p', { class: 'status', testid: 'spec-summary' });
  private readonly reasoning = h('p', { class: 'status', testid: 'del-reasoning' });
  private readonly byLayer = new Map<number, { drafted: number; accepted: number }>();

  constructor() {
    const roundsBox = h('div', { class: 'chart', testid: 'rounds-chart' });
    const acceptanceBox = h('div', { class: 'chart', testid: 'acceptance-chart' });
    this.element = h('div', { class: 'speculation', testid: 'speculation', hidden: true },
      h('dl', { class: 'legend', testid: 'token-legend' }, ...LEGEND.flatMap(([origin, name, meaning]) => [h('dt', {}, h('span', { class: `tok tok-${origin}` }, name)), h('dd', {}, meaning)])),
      this.summary,
      this.reasoning,
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
    this.reasoning.textContent = '';
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
    if (stats.delDecision && stats.tokensByVerdict) this.reasoning.textContent = explainDel(stats.delDecision, stats.tokensByVerdict);
  }

  private showAcceptance(table: Map<number, { drafted: number; accepted: number }>): void {
    const layers = [...table.keys()].sort((a, b) => a - b).filter((l) => table.get(l)!.drafted > 0);
    this.acceptance.set(layers.map((l) => `L${l}`), layers.map((l) => table.get(l)!.accepted / table.get(l)!.drafted));
  }
}
