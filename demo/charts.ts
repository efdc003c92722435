/** uPlot charts the views share: categorical bars (acceptance per layer, kernel times) and per-round lines. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const HEIGHT = 200;

export const colors = {
  accepted: '#1b9e5a',
  layer: '#7b4fc9',
  neutral: '#5b6b7f',
};

/** A uPlot that follows its container's width and records how many data points it shows (`data-points`). */
class ResponsivePlot {
  readonly plot: uPlot;
  private height = HEIGHT;

  constructor(private readonly container: HTMLElement, options: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData) {
    this.plot = new uPlot({ ...options, width: this.width(), height: this.height }, data, container);
    new ResizeObserver(() => this.plot.setSize({ width: this.width(), height: this.height })).observe(container);
    this.container.dataset.points = '0';
  }

  set(data: uPlot.AlignedData, height = HEIGHT): void {
    if (height !== this.height) {
      this.height = height;
      this.plot.setSize({ width: this.width(), height });
    }
    this.plot.setData(data);
    this.container.dataset.points = String(data[0].length);
  }

  private width(): number {
    return Math.max(240, this.container.clientWidth || 320);
  }
}

/** Bars over named categories: upright for a few short labels (exit layers), sideways for long names (kernels). */
export class BarChart {
  private labels: string[] = [];
  private readonly view: ResponsivePlot;

  constructor(container: HTMLElement, label: string, color: string, format: (v: number) => string, private readonly sideways = false) {
    const categories: uPlot.Axis = {
      splits: () => this.labels.map((_, i) => i),
      values: (_u, splits) => splits.map((i) => this.labels[i] ?? ''),
      ...(sideways ? { side: 3, size: (_u, values) => 12 + 7 * Math.max(4, ...(values ?? []).map((v) => v.length)) } : {}),
    };
    const amounts: uPlot.Axis = { label, values: (_u, splits) => splits.map(format), size: sideways ? 50 : 60, ...(sideways ? { side: 2 } : {}) };
    this.view = new ResponsivePlot(container, {
      legend: { show: false },
      cursor: { points: { show: false } },
      scales: {
        x: { time: false, range: () => [-0.5, Math.max(0.5, this.labels.length - 0.5)], ...(sideways ? { ori: 1, dir: -1 } : {}) },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1], ...(sideways ? { ori: 0 } : {}) },
      },
      axes: [categories, amounts],
      series: [
        {},
        { label, stroke: color, fill: `${color}cc`, points: { show: false }, paths: uPlot.paths.bars!({ size: [0.7, 48] }) },
      ],
    }, [[], []]);
  }

  set(labels: string[], values: number[]): void {
    this.labels = labels;
    this.view.set([labels.map((_, i) => i), values], this.sideways ? Math.max(HEIGHT, 70 + 22 * labels.length) : HEIGHT);
  }
}

export interface RoundPoint {
  exitLayer: number;
  drafted: number;
  accepted: number;
}

/** Exit layer, draft length and accepted drafts of every speculative round, as step lines. */
export class RoundsChart {
  private readonly rounds: RoundPoint[] = [];
  private readonly view: ResponsivePlot;

  constructor(container: HTMLElement) {
    const stepped = uPlot.paths.stepped!({ align: 1 });
    const line = (label: string, color: string, dash?: number[]) => ({ label, stroke: color, width: 2, paths: stepped, points: { show: false }, ...(dash ? { dash } : {}) });
    this.view = new ResponsivePlot(container, {
      legend: { live: false },
      cursor: { points: { show: false } },
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(2, max + 1)] } },
      axes: [{ label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, { label: 'layers / tokens', size: 56, incrs: [1, 2, 4, 8, 16, 32] }],
      series: [
        { label: 'round' },
        line('exit layer', colors.layer),
        line('drafted', colors.neutral, [6, 4]),
        line('accepted', colors.accepted),
      ],
    }, [[], [], [], []]);
  }

  push(round: RoundPoint): void {
    this.rounds.push(round);
    this.view.set([
      this.rounds.map((_, i) => i + 1),
      this.rounds.map((r) => r.exitLayer),
      this.rounds.map((r) => r.drafted),
      this.rounds.map((r) => r.accepted),
    ]);
  }

  reset(): void {
    this.rounds.length = 0;
    this.view.set([[], [], [], []]);
  }
}
