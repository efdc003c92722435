/**
 * Self-speculative decoding on the shipped tiny-dense, in one run on one adapter (Node):
 * - decode tok/s of plain greedy, of 'auto' (DEL) and of a grid of fixed (exit layer, draft length), with each
 *   one's draft acceptance; every run must give greedy's tokens;
 * - what the passes cost relative to one plain decoding step: a draft from exit layer E (E layers and the head
 *   over 1 row), and the verify of d drafts (the last draft through layers < E, then d + 1 rows through layers
 *   >= E and the head). From these, the speedup if every draft were accepted:
 *   (d + 1)·step / (d·draft(E) + verify(E, d)), the most any model could get from that (E, d) on this adapter;
 * - the same for the model's Kangaroo adapters (config.json `self_speculative`), beside the plain exits: decode
 *   speed and acceptance with drafts pinned to the adapter, its draft pass (E layers, the adapter, the head) and
 *   the bound; no rows for a model without adapters.
 * `main` writes bench/results/speculative.json.
 */
import type { Gpu } from '../src/gpu/device';
import { ParamArena, Step } from '../src/gpu/step';
import { argmax } from '../src/kernels/sampling';
import type { Runtime } from '../src/runtime/runtime';
import type { Strategy } from '../src/contract/types';
import { median, runTinyDenseBench } from './tiny_dense';

export interface FixedRun {
  exitLayer: number;
  draftLength: number;
  tokPerS: number;
  /** tok/s over greedy's, same run */
  speedup: number;
  acceptance: number;
}

export interface VerifyCost {
  exitLayer: number;
  drafts: number;
  /** verify pass time / plain step time */
  vsStep: number;
  /** (d + 1)·step / (d·draft + verify): the speedup if every draft were accepted */
  perfectAcceptanceBound: number;
}

/** A Kangaroo adapter's drafts at one draft length (measured as FixedRun), and its passes' costs. */
export interface AdapterRun extends FixedRun {
  /** a draft pass (layers 1..E, the adapter, the head) / a plain step */
  draftVsStep: number;
  /** the verify pass / a plain step (the plain exit's verify: the adapter is not in it) */
  verifyVsStep: number;
  /** (d + 1)·step / (d·draft + verify) */
  perfectAcceptanceBound: number;
}

export interface SpeculativeBench {
  adapter: string;
  isSoftware: boolean;
  model: string;
  promptTokens: number;
  decodeTokens: number;
  greedyTokPerS: number;
  /** drafts from the model's Kangaroo adapters (empty without them) */
  adapters: AdapterRun[];
  auto: { tokPerS: number; speedup: number; acceptance: number };
  fixed: FixedRun[];
  passCost: { stepMs: number; draft: { exitLayer: number; vsStep: number }[]; verify: VerifyCost[] };
}

export const PROMPT = 'Once upon a time, there was a little program that wanted to run language models in a web browser. It';
/** The (exit layer, draft length) settings timed: all of them by default, fewer for a quick check. */
export interface SpeculativeGrid {
  exitLayers: number[];
  draftLengths: number[];
}
const FULL_GRID: SpeculativeGrid = { exitLayers: [1, 2, 3, 4], draftLengths: [2, 4, 6] };
const RUNS = 3;
/** passes per timed submit batch, and batches per median */
const PASSES = 10;
const BATCHES = 5;

/** Median decode tok/s and the acceptance of RUNS generations; throws unless every run gives `expected` tokens. */
async function decodeRuns(runtime: Runtime, prompt: number[], tokens: number, strategy: Strategy, expected?: number[]) {
  const speeds: number[] = [];
  let acceptance = 0;
  let emitted: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const result = await runtime.generate({ prompt, maxTokens: tokens, stopAtEos: false, strategy }, () => undefined);
    emitted = result.tokens;
    if (expected && emitted.join() !== expected.join()) throw new Error(`${JSON.stringify(strategy)} changed the greedy output`);
    speeds.push((1000 * result.stats.decodeTokens) / result.stats.decodeMs);
    acceptance = (result.stats.accepted ?? 0) / Math.max(1, result.stats.drafted ?? 0);
  }
  return { tokPerS: median(speeds), acceptance, tokens: emitted };
}

/** Median ms of one pass recorded by `record`, timed over batches of PASSES submits. */
async function passMs(gpu: Gpu, arena: ParamArena, record: (step: Step) => void): Promise<number> {
  const times: number[] = [];
  for (let b = 0; b <= BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < PASSES; i++) {
      const step = new Step(gpu, arena);
      record(step);
      void step.submit();
    }
    await gpu.device.queue.onSubmittedWorkDone();
    if (b > 0) times.push((performance.now() - t0) / PASSES); // batch 0 compiles pipelines
  }
  return median(times);
}

async function passCosts(gpu: Gpu, runtime: Runtime, prompt: number[], { exitLayers, draftLengths }: SpeculativeGrid): Promise<SpeculativeBench['passCost']> {
  const { model } = runtime;
  const { layers } = model.config;
  const arena = new ParamArena(gpu);
  await runtime.logits(prompt); // the KV cache holds the prompt; passes run right after it
  gpu.device.queue.writeBuffer(model.act.tokens, 0, new Uint32Array(Math.max(...draftLengths) + 1)); // token 0 in every row
  const start = prompt.length;
  const pass = (from: number, to: number, rows: number, at: number) => (step: Step) => {
    model.embed(step, model.act.tokens, 0, rows);
    model.layers(step, rows, at, from, to);
    model.head(step, rows);
    pickTokens(gpu, runtime, step, rows);
  };
  const stepMs = await passMs(gpu, arena, pass(0, layers, 1, start));
  const draft: { exitLayer: number; vsStep: number }[] = [];
  const verify: VerifyCost[] = [];
  for (const exitLayer of exitLayers) {
    const draftMs = await passMs(gpu, arena, pass(0, exitLayer, 1, start));
    draft.push({ exitLayer, vsStep: draftMs / stepMs });
    for (const drafts of draftLengths) {
      const verifyMs = await passMs(gpu, arena, (step) => verifyPass(gpu, runtime, step, start, exitLayer, drafts));
      const bound = ((drafts + 1) * stepMs) / (drafts * draftMs + verifyMs);
      verify.push({ exitLayer, drafts, vsStep: verifyMs / stepMs, perfectAcceptanceBound: bound });
    }
  }
  return { stepMs, draft, verify };
}

/** Argmax of the first `rows` rows of logits into act.tokens (the token choice every pass ends with). */
function pickTokens(gpu: Gpu, { model }: Runtime, step: Step, rows: number): void {
  argmax(gpu, step, { logits: model.act.logits, rows, vocab: model.config.vocab, out: model.act.tokens, outOffset: 0 });
}

/** The verify pass of `drafts` drafts from exit layer E at `start` (act.tokens stands in for the tokens and the cached exit states). */
function verifyPass(gpu: Gpu, runtime: Runtime, step: Step, start: number, exitLayer: number, drafts: number): void {
  const { model } = runtime;
  model.embed(step, model.act.tokens, 0, 1);
  model.layers(step, 1, start + drafts, 0, exitLayer);
  model.embed(step, model.act.tokens, 0, drafts + 1);
  model.layers(step, drafts + 1, start, exitLayer, model.config.layers);
  model.head(step, drafts + 1);
  pickTokens(gpu, runtime, step, drafts + 1);
}

/** The model's Kangaroo adapters at the grid's draft lengths: decode runs with drafts pinned to each adapter, and pass costs. */
async function benchAdapters(gpu: Gpu, runtime: Runtime, prompt: number[], { draftLengths }: SpeculativeGrid, speedOf: (s: Strategy) => Promise<Omit<FixedRun, 'exitLayer' | 'draftLength'>>): Promise<AdapterRun[]> {
  const { model } = runtime;
  const runs: AdapterRun[] = [];
  for (const adapter of model.adapters) {
    const exitLayer = adapter.exitLayer;
    const measured = [];
    for (const draftLength of draftLengths) measured.push({ exitLayer, draftLength, ...(await speedOf({ kind: 'self-speculative', exitLayer, draftLength, draftSource: 'adapter' })) });
    const arena = new ParamArena(gpu);
    await runtime.logits(prompt);
    gpu.device.queue.writeBuffer(model.act.tokens, 0, new Uint32Array(Math.max(...draftLengths) + 1));
    const start = prompt.length;
    const stepMs = await passMs(gpu, arena, (step) => {
      model.embed(step, model.act.tokens, 0, 1);
      model.layers(step, 1, start);
      model.head(step, 1);
      pickTokens(gpu, runtime, step, 1);
    });
    const draftMs = await passMs(gpu, arena, (step) => {
      model.embed(step, model.act.tokens, 0, 1);
      model.layers(step, 1, start, 0, exitLayer);
      adapter.record(step, model.act.x, 1, start);
      model.head(step, 1, 0, adapter.weights.norm);
      pickTokens(gpu, runtime, step, 1);
    });
    for (const run of measured) {
      const verifyMs = await passMs(gpu, arena, (step) => verifyPass(gpu, runtime, step, start, exitLayer, run.draftLength));
      const perfectAcceptanceBound = ((run.draftLength + 1) * stepMs) / (run.draftLength * draftMs + verifyMs);
      runs.push({ ...run, draftVsStep: draftMs / stepMs, verifyVsStep: verifyMs / stepMs, perfectAcceptanceBound });
    }
    arena.destroy();
  }
  return runs;
}

/** The adapter rows of the summary, beside the plain exits' (none without adapters). */
function formatAdapterRows(b: SpeculativeBench): string[] {
  if (!b.adapters.length) return [];
  return [
    'Kangaroo adapter drafts: exit  drafts  speedup  acceptance  draft/step  verify/step  bound if all accepted',
    ...b.adapters.map((a) => `  ${String(a.exitLayer).padStart(4)}  ${String(a.draftLength).padStart(6)}  ${a.speedup.toFixed(2).padStart(7)}  ${a.acceptance.toFixed(2).padStart(10)}  ${a.draftVsStep.toFixed(2).padStart(10)}  ${a.verifyVsStep.toFixed(2).padStart(11)}  ${a.perfectAcceptanceBound.toFixed(2).padStart(21)}`),
  ];
}

export async function benchSpeculative(gpu: Gpu, runtime: Runtime, decodeTokens = 48, grid = FULL_GRID): Promise<SpeculativeBench> {
  const prompt = runtime.tokenize(PROMPT);
  await decodeRuns(runtime, prompt, decodeTokens, { kind: 'greedy' }); // warm-up: pipelines
  const greedy = await decodeRuns(runtime, prompt, decodeTokens, { kind: 'greedy' });
  const speedOf = async (strategy: Strategy) => {
    const run = await decodeRuns(runtime, prompt, decodeTokens, strategy, greedy.tokens);
    return { tokPerS: run.tokPerS, speedup: run.tokPerS / greedy.tokPerS, acceptance: run.acceptance };
  };
  const auto = await speedOf({ kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' });
  const fixed: FixedRun[] = [];
  for (const exitLayer of grid.exitLayers) {
    for (const draftLength of grid.draftLengths) fixed.push({ exitLayer, draftLength, ...(await speedOf({ kind: 'self-speculative', exitLayer, draftLength })) });
  }
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    model: 'tiny-dense',
    promptTokens: prompt.length,
    decodeTokens,
    greedyTokPerS: greedy.tokPerS,
    adapters: await benchAdapters(gpu, runtime, prompt, grid, speedOf),
    auto,
    fixed,
    passCost: await passCosts(gpu, runtime, prompt, grid),
  };
}

export function formatSpeculativeBench(b: SpeculativeBench): string {
  const bound = (e: number, d: number) => b.passCost.verify.find((v) => v.exitLayer === e && v.drafts === d)!;
  return [
    `adapter: ${b.adapter}${b.isSoftware ? ' (software)' : ''}; ${b.model}, ${b.promptTokens}-token prompt, ${b.decodeTokens} tokens, median of ${RUNS}`,
    `greedy ${b.greedyTokPerS.toFixed(1)} tok/s; auto ${b.auto.speedup.toFixed(2)}x (acceptance ${b.auto.acceptance.toFixed(2)})`,
    ...formatAdapterRows(b),
    'exit  drafts  speedup  acceptance  verify/step  bound if all accepted',
    ...b.fixed.map((f) => `${String(f.exitLayer).padStart(4)}  ${String(f.draftLength).padStart(6)}  ${f.speedup.toFixed(2).padStart(7)}  ${f.acceptance.toFixed(2).padStart(10)}  ${bound(f.exitLayer, f.draftLength).vsStep.toFixed(2).padStart(11)}  ${bound(f.exitLayer, f.draftLength).perfectAcceptanceBound.toFixed(2).padStart(21)}`),
    `draft pass / step by exit layer: ${b.passCost.draft.map((d) => `${d.exitLayer}: ${d.vsStep.toFixed(2)}`).join(', ')}`,
  ].join('\n');
}

export async function main(): Promise<number> {
  return runTinyDenseBench('speculative', 512, benchSpeculative, formatSpeculativeBench);
}
