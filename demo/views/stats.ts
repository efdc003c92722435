/** Stats panel: the last run's prefill/decode rates and passes, a run history, and per-kernel GPU time. */
import type { GenerateStats, KernelProfile } from '../../src/browser/index';
import { BarChart, colors } from '../charts';
import { fill, h } from '../dom';
import { bytes, count, ms, percent, rate, tokensPerSecond } from '../format';
import type { RunRecord, Session } from '../session';

const HISTORY = 12;
const KERNELS_SHOWN = 16;

function facts(label: string, s: GenerateStats): [string, string][] {
  return [
    ['strategy', label],
    ['prefill', `${count(s.prefillTokens)} tokens in ${ms(s.prefillMs)} · ${rate(tokensPerSecond(s.prefillTokens, s.prefillMs))}`],
    ['decode', `${count(s.decodeTokens)} tokens in ${ms(s.decodeMs)} · ${rate(tokensPerSecond(s.decodeTokens, s.decodeMs))}`],
    ['forward passes', count(s.forwardPasses)],
    ...(s.drafted ? [['drafts accepted', `${count(s.accepted ?? 0)} / ${count(s.drafted)} (${percent((s.accepted ?? 0) / s.drafted)})`] as [string, string]] : []),
    ...expertFacts(s),
    ...(s.mlpSparsity !== undefined ? [['MLP neurons skipped', percent(s.mlpSparsity)] as [string, string]] : []),
  ];
}

/** Runs under an expert budget (maxResidentExperts): where the routed experts came from, and what was copied to the GPU. */
function expertFacts(s: GenerateStats): [string, string][] {
  if (s.expertCacheHits === undefined) return [];
  const sources = [`${count(s.expertCacheHits)} hits`, `${count(s.expertCacheMisses ?? 0)} misses`];
  if (s.expertPrefetches !== undefined) sources.push(`${count(s.expertPrefetches)} prefetched`);
  const facts: [string, string][] = [['expert cache', sources.join(', ')]];
  if (s.expertUploadBytes !== undefined) facts.push(['expert uploads', bytes(s.expertUploadBytes)]);
  return facts;
}

type KernelTime = { kernel: string; ms: number; count: number };
const NO_PROFILE: KernelProfile = { timestamps: false, layers: 0, kernels: [], steps: [] };

/** Pipelines of one shader with different override constants (`matmul/gemv{FORMAT=…}`) count as one kernel. */
function byShader(profile: KernelProfile['kernels']): KernelTime[] {
  const merged = new Map<string, KernelTime>();
  for (const { kernel, ms, count } of profile) {
    const name = kernel.replace(/\{.*\}$/, '');
    const entry = merged.get(name) ?? { kernel: name, ms: 0, count: 0 };
    entry.ms += ms ?? 0;
    entry.count += count;
    merged.set(name, entry);
  }
  return [...merged.values()];
}

export class StatsView {
  private readonly last = h('dl', { class: 'facts', testid: 'stats-last' }, h('dt', {}, 'no runs yet'));
  private readonly history = h('tbody', { testid: 'stats-history' });
  private readonly kernelNote = h('p', { class: 'hint', testid: 'kernel-note' });
  private readonly kernels: BarChart;
  private readonly runs: RunRecord[] = [];

  constructor(root: HTMLElement, private readonly session: Session) {
    const kernelBox = h('div', { class: 'chart', testid: 'kernel-chart' });
    const refresh = h('button', { testid: 'kernel-refresh' }, 'Refresh');
    fill(root,
      h('h2', {}, 'Stats'),
      h('h3', {}, 'Last run'),
      this.last,
      h('h3', {}, 'Recent runs'),
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ...['strategy', 'tokens', 'prefill tok/s', 'decode tok/s', 'passes', 'tokens / pass'].map((t) => h('th', {}, t)))),
        this.history)),
      h('h3', {}, 'GPU time per kernel ', refresh),
      this.kernelNote,
      kernelBox,
    );
    this.kernels = new BarChart(kernelBox, 'GPU ms', colors.layer, (v) => v.toFixed(v < 10 ? 1 : 0), true);
    refresh.addEventListener('click', () => void this.refreshKernels());
    session.onRun((run) => this.add(run));
    session.onEngine(() => {
      this.kernels.set([], []);
      this.kernelNote.textContent = session.profiling ? 'Collected with timestamp queries since the model loaded.' : 'Load the model with "GPU timing" to collect per-kernel times.';
    });
  }

  private add(run: RunRecord): void {
    this.runs.unshift(run);
    this.runs.length = Math.min(this.runs.length, HISTORY);
    const s = run.result.stats;
    fill(this.last, ...facts(run.label + (run.result.aborted ? ' (aborted)' : ''), s).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    fill(this.history, ...this.runs.map(({ label, result: { stats, aborted } }) => h('tr', {},
      h('td', {}, aborted ? `${label} (aborted)` : label), h('td', {}, count(stats.decodeTokens)),
      h('td', {}, rate(tokensPerSecond(stats.prefillTokens, stats.prefillMs), '')), h('td', {}, rate(tokensPerSecond(stats.decodeTokens, stats.decodeMs), '')),
      h('td', {}, count(stats.forwardPasses)), h('td', {}, stats.forwardPasses ? (stats.decodeTokens / stats.forwardPasses).toFixed(2) : '–'))));
    void this.refreshKernels();
  }

  /** Kernel times are cumulative; the slowest kernels are shown, largest first. */
  async refreshKernels(): Promise<void> {
    const engine = this.session.engine;
    if (!engine || !this.session.profiling) return;
    const report = await engine.kernelProfile().catch(() => NO_PROFILE);
    const profile = byShader(report.kernels);
    const top = profile.sort((a, b) => b.ms - a.ms).slice(0, KERNELS_SHOWN);
    this.kernels.set(top.map((k) => k.kernel), top.map((k) => k.ms));
    const total = profile.reduce((sum, k) => sum + k.ms, 0);
    const dispatches = profile.reduce((sum, k) => sum + k.count, 0);
    const step = report.steps[0];
    const shape = step ? ` The most frequent step: ${step.dispatches} dispatches (${step.perLayer} per layer + ${step.outsideLayers}).` : '';
    this.kernelNote.textContent = (report.timestamps
      ? `${ms(total)} of GPU time over ${count(dispatches)} dispatches of ${profile.length} kernels since the model loaded (timestamp queries).`
      : 'No kernel timings: this adapter lacks the timestamp-query feature.') + shape;
  }
}
