/**
 * Self-speculative decoding on the shipped tiny-dense, in one run on one adapter (Node):
 * - decode tok/s of plain greedy, of 'auto' (DEL) and of a grid of fixed (exit layer, draft length) of plain exits, with each
 *   one's draft acceptance; every run must give greedy's tokens;
 * - what the passes cost relative to one plain decoding step: a draft from exit layer E (E layers and the head
 *   over 1 row), and the verify of d drafts (the last draft through layers < E, then d + 1 rows through layers
 *   >= E and the head). From these, the speedup if every draft were accepted:
 *   (d + 1)·step / (d·draft(E) + verify(E, d)), the most any model could get from that (E, d) on this adapter;
 * - the same for the model's Kangaroo adapters (config.json `self_speculative`), beside the plain exits: decode
 *   speed and acceptance with drafts pinned to the adapter, its draft pass (E layers, the adapter, the head) and
 *   the bound; no rows for a model without adapters.
 * - Sirius: tiny-dense loaded with a 50%-sparse MLP drafts with all its layers, the dense model verifies (must give
 *   greedy's tokens); its acceptance and its draft pass / dense step;
 * - a PROJECTION (bench/projection.ts) of each (draft source, exit layer, drafts) setting's speedup under a
 *   bandwidth-bound cost model, from the acceptance measured here and, for the Kangaroo adapters and beside them
 *   the plain exits, the held-out agreement tools/train records in the model's eval.json (with the model's draft
 *   vocabulary, and without it).
 * Drafts use the model's draft vocabulary when it has one (`draftVocab`, the runtime's default): decode runs and
 * draft passes alike.
 * `main` writes bench/results/speculative.json.
 */
import type { Gpu } from '../src/gpu/device';
import { ParamArena, Step } from '../src/gpu/step';
import { argmax } from '../src/kernels/sampling';
import type { Runtime } from '../src/runtime/runtime';
import type { Strategy } from '../src/contract/types';
import { median, runTinyDenseBench } from './tiny_dense';
import { alphaFromAcceptance, bestProjected, draftCost, project, PROJECTION_ASSUMPTIONS, type ProjectedPath, type ProjectedSetting } from './projection';

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
  /** tokens of the draft vocabulary every draft here scores (absent: the whole vocabulary) */
  draftVocab?: number;
  /** drafts from the model's Kangaroo adapters (empty without them) */
  adapters: AdapterRun[];
  /** with a draft vocabulary: the plain exits and adapters of the grid's first draft length again, drafting over the whole vocabulary */
  wholeVocab: (FixedRun & { source: 'exit' | 'adapter' })[];
  auto: { tokPerS: number; speedup: number; acceptance: number };
  fixed: FixedRun[];
  passCost: { stepMs: number; draft: { exitLayer: number; vsStep: number }[]; verify: VerifyCost[] };
  sparse: SparseBench;
  projection: { assumptions: string[]; settings: ProjectedSetting[]; best: ProjectedSetting };
}

/** Sirius drafts: the model with an activation-sparse MLP drafts with all its layers, the dense model verifies. */
export interface SparseBench {
  sparsity: number;
  exitLayer: number;
  fixed: FixedRun[];
  /** a sparse 1-row pass through every layer and the head / a dense plain step, on this adapter */
  draftVsStep: number;
}

/** Fraction of MLP neurons the Sirius drafts skip. */
const SPARSITY = 0.5;

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
  const pass = (to: number, draft: boolean) => (step: Step) => {
    model.embed(step, model.act.tokens, 0, 1);
    model.layers(step, 1, start, 0, to);
    if (draft) pickTokens(gpu, runtime, step, 1, draftHead(runtime, step));
    else {
      model.head(step, 1);
      pickTokens(gpu, runtime, step, 1);
    }
  };
  const stepMs = await passMs(gpu, arena, pass(layers, false));
  const draft: { exitLayer: number; vsStep: number }[] = [];
  const verify: VerifyCost[] = [];
  for (const exitLayer of exitLayers) {
    const draftMs = await passMs(gpu, arena, pass(exitLayer, true));
    draft.push({ exitLayer, vsStep: draftMs / stepMs });
    for (const drafts of draftLengths) {
      const verifyMs = await passMs(gpu, arena, (step) => verifyPass(gpu, runtime, step, start, exitLayer, drafts));
      const bound = ((drafts + 1) * stepMs) / (drafts * draftMs + verifyMs);
      verify.push({ exitLayer, drafts, vsStep: verifyMs / stepMs, perfectAcceptanceBound: bound });
    }
  }
  return { stepMs, draft, verify };
}

/** Argmax of the first `rows` rows of logits into act.tokens (the token choice every pass ends with), over the draft vocabulary's logits for `draft`. */
function pickTokens(gpu: Gpu, { model }: Runtime, step: Step, rows: number, draft = false): void {
  const vocab = draft ? model.weights.draftVocab!.size : model.config.vocab;
  argmax(gpu, step, { logits: model.act.logits, rows, vocab, out: model.act.tokens, outOffset: 0 });
}

/** A draft's head, as the runtime runs it: over the draft vocabulary when the model has one. */
function draftHead({ model }: Runtime, step: Step, norm?: GPUBuffer): boolean {
  const draft = model.weights.draftVocab !== undefined;
  model.head(step, 1, 0, norm, draft);
  return draft;
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
      adapter.record(step, model, 1, start);
      pickTokens(gpu, runtime, step, 1, draftHead(runtime, step, adapter.weights.norm));
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
    for (const draftLength of grid.draftLengths) fixed.push({ exitLayer, draftLength, ...(await speedOf({ kind: 'self-speculative', exitLayer, draftLength, draftSource: 'exit' })) });
  }
  const passCost = await passCosts(gpu, runtime, prompt, grid);
  const sparse = await benchSparse(gpu, prompt, decodeTokens, grid, greedy, passCost.stepMs);
  const adapters = await benchAdapters(gpu, runtime, prompt, grid, speedOf);
  const wholeVocab = [];
  const draftLength = grid.draftLengths[0];
  const sources = runtime.info.draftVocabSize ? [...grid.exitLayers.map((l) => ['exit', l] as const), ...runtime.model.adapters.map((a) => ['adapter', a.exitLayer] as const)] : [];
  for (const [source, exitLayer] of sources) {
    wholeVocab.push({ source, exitLayer, draftLength, ...(await speedOf({ kind: 'self-speculative', exitLayer, draftLength, draftSource: source, draftVocab: false })) });
  }
  const settings = projectionSettings(runtime, fixed, adapters, sparse, grid, await heldOutAgreement());
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    model: 'tiny-dense',
    promptTokens: prompt.length,
    decodeTokens,
    greedyTokPerS: greedy.tokPerS,
    ...(runtime.info.draftVocabSize ? { draftVocab: runtime.info.draftVocabSize } : {}),
    adapters,
    wholeVocab,
    auto,
    fixed,
    passCost,
    sparse,
    projection: { assumptions: PROJECTION_ASSUMPTIONS, settings, best: bestProjected(settings) },
  };
}

/** Sirius on a second tiny-dense loaded with the sparse MLP: fixed draft lengths at the last exit, and the sparse pass's cost. */
async function benchSparse(gpu: Gpu, prompt: number[], decodeTokens: number, grid: SpeculativeGrid, greedy: { tokPerS: number; tokens: number[] }, stepMs: number): Promise<SparseBench> {
  const { directorySource } = await import('../src/node/source');
  const { Runtime } = await import('../src/runtime/runtime');
  const runtime = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength: 512, sparsity: { mlp: SPARSITY } });
  const { model } = runtime;
  const exitLayer = model.config.layers;
  const fixed: FixedRun[] = [];
  for (const draftLength of grid.draftLengths) {
    const run = await decodeRuns(runtime, prompt, decodeTokens, { kind: 'self-speculative', draftSource: 'sparse', exitLayer, draftLength }, greedy.tokens);
    fixed.push({ exitLayer, draftLength, tokPerS: run.tokPerS, speedup: run.tokPerS / greedy.tokPerS, acceptance: run.acceptance });
  }
  await runtime.logits(prompt);
  gpu.device.queue.writeBuffer(model.act.tokens, 0, new Uint32Array(1));
  model.sparse!.dense = false;
  const draftMs = await passMs(gpu, new ParamArena(gpu), (step) => {
    model.embed(step, model.act.tokens, 0, 1);
    model.layers(step, 1, prompt.length);
    model.head(step, 1);
    argmax(gpu, step, { logits: model.act.logits, rows: 1, vocab: model.config.vocab, out: model.act.tokens, outOffset: 0 });
  });
  runtime.dispose();
  return { sparsity: SPARSITY, exitLayer, fixed, draftVsStep: draftMs / stepMs };
}

/**
 * Held-out agreement per exit layer from tools/train's eval.json: plain exits, the Kangaroo adapters when trained,
 * and both with the draft vocabulary of the size the model ships (tools/train/draft_vocab.py) when it has one.
 */
interface HeldOut {
  plain: number[];
  adapters: { exitLayer: number; acceptance: number; params: number }[];
  draftVocab?: { size: number; paths: { kind: 'exit' | 'adapter'; exitLayer: number; acceptance: number }[] };
}

async function heldOutAgreement(): Promise<HeldOut> {
  const { readFileSync } = await import('node:fs');
  const ev = JSON.parse(readFileSync('public/models/tiny-dense/eval.json', 'utf8'));
  const trained = ev.adapters;
  const adapters = trained ? Object.entries(trained.agreement as Record<string, { adapter_agree: number }>).map(([l, a]) => ({ exitLayer: Number(l), acceptance: a.adapter_agree, params: trained.adapter_params as number })) : [];
  const dv = ev.draft_vocab as { chosen: number; rows: { draft_vocab_size: number; path: 'exit' | 'adapter'; exit_layer: number; agreement: number }[] } | undefined;
  const draftVocab = dv && { size: dv.chosen, paths: dv.rows.filter((r) => r.draft_vocab_size === dv.chosen).map((r) => ({ kind: r.path, exitLayer: r.exit_layer, acceptance: r.agreement })) };
  return { plain: ev.val.agree, adapters, ...(draftVocab ? { draftVocab } : {}) };
}

/** Every measured (source, exit, drafts) run, and every held-out exit and adapter at the grid's draft lengths, projected. */
function projectionSettings(runtime: Runtime, fixed: FixedRun[], adapters: AdapterRun[], sparse: SparseBench, grid: SpeculativeGrid, heldOut: HeldOut): ProjectedSetting[] {
  const { config, model } = runtime;
  const adapterParams = (exitLayer: number) => {
    const { heads, kvHeads, headDim } = model.adapter(exitLayer)!.shape;
    return config.hidden * headDim * (2 * heads + 2 * kvHeads) + 2 * config.hidden;
  };
  const draftVocab = runtime.info.draftVocabSize; // the measured runs' drafts score it
  const measured = (kind: 'exit' | 'adapter' | 'sparse', f: FixedRun): ProjectedSetting => project({
    kind, exitLayer: f.exitLayer, acceptance: alphaFromAcceptance(f.acceptance, f.draftLength), acceptanceFrom: 'runtime',
    draftCost: draftCost(config, kind, f.exitLayer, { sparsity: sparse.sparsity, adapterParams: kind === 'adapter' ? adapterParams(f.exitLayer) : 0, draftVocab }),
    ...(draftVocab ? { draftVocab } : {}),
  }, f.draftLength);
  const dv = heldOut.draftVocab;
  const paths: ProjectedPath[] = [
    ...grid.exitLayers.map((exitLayer) => ({ kind: 'exit' as const, exitLayer, acceptance: heldOut.plain[exitLayer - 1], acceptanceFrom: 'held-out' as const, draftCost: draftCost(config, 'exit', exitLayer) })),
    ...heldOut.adapters.map((a) => ({ kind: 'adapter' as const, exitLayer: a.exitLayer, acceptance: a.acceptance, acceptanceFrom: 'held-out' as const, draftCost: draftCost(config, 'adapter', a.exitLayer, { adapterParams: a.params }) })),
    ...(dv?.paths ?? []).filter((p) => p.kind === 'adapter' || grid.exitLayers.includes(p.exitLayer)).map((p) => ({
      ...p, acceptanceFrom: 'held-out' as const, draftVocab: dv!.size,
      draftCost: draftCost(config, p.kind, p.exitLayer, { adapterParams: p.kind === 'adapter' ? heldOut.adapters[0]?.params : 0, draftVocab: dv!.size }),
    })),
  ];
  return [
    ...fixed.map((f) => measured('exit', f)),
    ...adapters.map((a) => measured('adapter', a)),
    ...sparse.fixed.map((f) => measured('sparse', f)),
    ...paths.flatMap((p) => grid.draftLengths.map((d) => project(p, d))),
  ];
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
    `sparse (Sirius, ${b.sparse.sparsity * 100}% of MLP neurons skipped) drafts from exit ${b.sparse.exitLayer}, dense verify; sparse pass / dense step ${b.sparse.draftVsStep.toFixed(2)}`,
    ...b.sparse.fixed.map((f) => `  ${f.draftLength} drafts: ${f.speedup.toFixed(2)}x, acceptance ${f.acceptance.toFixed(2)}`),
    ...(b.draftVocab ? [`drafts score the draft vocabulary: ${b.draftVocab} most frequent tokens; over the whole vocabulary instead (speedup, acceptance):`] : []),
    ...b.wholeVocab.map((f) => `  ${f.source.padEnd(7)} exit ${f.exitLayer}, ${f.draftLength} drafts: ${f.speedup.toFixed(2)}x, acceptance ${f.acceptance.toFixed(2)}`),
    'PROJECTION (bandwidth-bound cost model, not measured): source  exit  drafts  draft vocab  alpha (from)  draft/step  tokens/round  speedup',
    ...b.projection.settings.map((s) => `  ${s.kind.padEnd(7)} ${String(s.exitLayer).padStart(4)}  ${String(s.drafts).padStart(6)}  ${String(s.draftVocab ?? 'all').padStart(11)}  ${s.acceptance.toFixed(2)} (${s.acceptanceFrom})  ${s.draftCost.toFixed(2).padStart(10)}  ${s.tokensPerRound.toFixed(2).padStart(12)}  ${s.speedup.toFixed(2).padStart(7)}`),
    `best projected: ${describeSetting(b.projection.best)}; assumptions: ${b.projection.assumptions.join('; ')}`,
  ].join('\n');
}

export function describeSetting(s: ProjectedSetting): string {
  return `${s.kind} draft path, exit layer ${s.exitLayer}, ${s.drafts} drafts${s.draftVocab ? `, draft vocabulary ${s.draftVocab}` : ''}: ${s.speedup.toFixed(2)}x at alpha ${s.acceptance.toFixed(2)} (${s.acceptanceFrom}), draft ${s.draftCost.toFixed(2)} of a step`;
}

/** `--grid=1,2:2,4` times exit layers 1, 2 with 2 and 4 drafts only (a quicker run); default: the full grid. */
export async function main(args: string[] = []): Promise<number> {
  const spec = args.find((a) => a.startsWith('--grid='))?.slice('--grid='.length);
  const [exits, lengths] = spec ? spec.split(':').map((list) => list.split(',').map(Number)) : [];
  const grid = spec ? { exitLayers: exits, draftLengths: lengths } : FULL_GRID;
  return runTinyDenseBench('speculative', 512, (gpu, runtime) => benchSpeculative(gpu, runtime, 48, grid), formatSpeculativeBench);
}
