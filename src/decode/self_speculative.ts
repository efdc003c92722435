import type { DecodeContext, DecodeStrategy, TokenConstraint } from './strategy';
import type { SamplingParams } from './autoregressive';
import { Rng } from './rng';
import { ExitPolicy, type DraftSource } from './exit_policy';
import { RowCostCalibration } from './row_cost';
import { AdapterFeeder, draftSources, type DraftSourceOption } from './draft_adapters';
import { exitPath, sparsePath, PathAcceptance, type DraftPath } from './draft_paths';
import { Autoregressive } from './autoregressive';
import type { Step } from '../gpu/step';
import { storageBuffer } from '../gpu/buffers';
import { pipelineCount } from '../gpu/kernel';
import { argmax, distribution, sampleFromProbs } from '../kernels/sampling';
import { acceptGreedy, acceptSampled, draftConfidence } from '../kernels/verify';
import { maskRows, maskWords } from '../kernels/logit_controls';
import { draftIds, draftProbs } from '../kernels/draft_vocab';
import type { DraftVocabWeights } from '../model/draft_vocab';
import { GEMV_MAX_ROWS } from '../gpu/tuning';
import type { Transformer } from '../model/forward';
import type { AdapterBlock } from '../model/adapter_forward';
import type { TokenOrigin } from '../contract/types';

export interface SelfSpeculativeOptions {
  /** layers that draft (1..layers), or 'auto' (DEL) */
  exitLayer: number | 'auto';
  /** drafts per round, or 'auto' (DEL) */
  draftLength: number | 'auto';
  /** Kangaroo's second exit: stop drafting once a draft's top-1 probability is below this (0 = never) */
  confidenceThreshold: number;
  /** absent = greedy */
  sampling?: SamplingParams;
  /** drafts from plain exits, Kangaroo adapters, or either (draftSources); 'sparse' (Sirius): the activation-sparse model */
  draftSource?: DraftSourceOption | 'sparse';
  /** drafts score only the model's draft vocabulary, when it has one (default true; constrained drafts never do) */
  draftVocab?: boolean;
}

/** Longest draft a model with `rows` rows per pass verifies: verify rows <= GEMV_MAX_ROWS stay bitwise equal to single-token decoding. */
export function maxDraftLength(rows: number): number {
  return Math.min(GEMV_MAX_ROWS, rows) - 1;
}

/** Longest draft DEL may choose. */
const AUTO_MAX_DRAFT = 8;
/** When DEL chooses no drafts, only every this many such choices runs a (non-pipelined) plain round capturing a shadow layer (it costs an extra LM head), and none while drafting cannot win under the cost model or speculative rounds measure slower. */
const PLAIN_SHADOW_EVERY = 4;
/** Plain rounds without a shadow layer decode at least this many tokens in one pipelined burst (no readback wait between tokens); up to the next probe when no shadow rounds are due. */
const PLAIN_BURST = 4;
/** GPU buffers of one speculative round, sized for the longest draft. */
class RoundBuffers {
  readonly tokens: GPUBuffer;        // [maxDraft + 1] u32: the pending token, then drafts d_1..d_k
  readonly exitStates: GPUBuffer;    // [maxDraft + 1, hidden] hidden state after the exit layer (the exit query cache)
  readonly targets: GPUBuffer;       // [maxDraft + 1] u32 argmax of each verify row
  readonly result: GPUBuffer;        // [maxDraft + 2] u32 [n accepted, emitted tokens]
  readonly confidence: GPUBuffer;    // [maxDraft] f32 top-1 probability of each draft
  readonly draftProbs: GPUBuffer;    // [maxDraft, vocab] distributions the drafts were sampled from (sampling only)
  readonly uniforms: GPUBuffer;      // [maxDraft + 1] f32 acceptance uniforms (sampling only)
  readonly shadowStates: GPUBuffer;  // [maxDraft + 1, hidden] states after the shadow layer
  readonly shadowTokens: GPUBuffer;  // [maxDraft + 1] u32 tokens the shadow layer would have drafted
  readonly masks: GPUBuffer;         // [maxDraft + 1, maskWords(vocab)] u32 constraint mask of each position (constrained only)

  constructor(model: Transformer, readonly maxDraft: number, sampling: boolean, constrained: boolean) {
    const { gpu, config } = model;
    const rows = maxDraft + 1;
    const buffer = (label: string, bytes: number) => storageBuffer(gpu, `spec.${label}`, bytes);
    this.tokens = buffer('tokens', 4 * rows);
    this.exitStates = buffer('exitStates', 4 * rows * config.hidden);
    this.targets = buffer('targets', 4 * rows);
    this.result = buffer('result', 4 * (rows + 1));
    this.confidence = buffer('confidence', 4 * maxDraft);
    this.draftProbs = buffer('draftProbs', sampling ? 4 * maxDraft * config.vocab : 4);
    this.uniforms = buffer('uniforms', 4 * rows);
    this.shadowStates = buffer('shadowStates', 4 * rows * config.hidden);
    this.shadowTokens = buffer('shadowTokens', 4 * rows);
    this.masks = buffer('masks', constrained ? 4 * rows * maskWords(config.vocab) : 4);
  }

  destroy(): void {
    for (const b of Object.values(this)) if (b && typeof b === 'object' && 'destroy' in b) (b as GPUBuffer).destroy();
  }
}

interface RoundPlan {
  /** absolute position of the pending token */
  start: number;
  exitLayer: number;
  /** the exit's Kangaroo adapter drafts (after the exit layer, before the head), or null: the plain exit */
  adapter: AdapterBlock | null;
  /** the draft path: an exit (plain or with its adapter) or the sparse model (Sirius), with what the verify reuses */
  path: DraftPath;
  maxDraft: number;
  /** the draft source whose tokens for the round's rows are computed as shadow tokens (DEL), or null */
  shadow: DraftSource | null;
  /** the draft vocabulary the drafts and shadow tokens score, or null: the whole head */
  draftVocab: DraftVocabWeights | null;
}

interface RoundOutcome {
  drafted: number;
  accepted: number;
  tokens: number[];
  shadowTokens?: Uint32Array;
  passes: number;
}

/**
 * Self-speculative decoding (LayerSkip): the first E layers + the shared final norm and LM head draft
 * tokens one at a time, keeping each draft's exit hidden state; one verify pass then runs the last token
 * through layers < E and [exit states + that token] through layers >= E, reusing the early layers' KV.
 * Acceptance (greedy or rejection sampling) runs on the GPU; only [n, tokens] are read back, and the KV
 * is rolled back by truncation. With confidenceThreshold 0 a whole round is one submit; with a threshold
 * (Kangaroo) each draft's confidence is read back while the next draft already runs. Exit layer and draft
 * length can be chosen per round from shadow-token acceptance rates (DEL).
 *
 * A model's Kangaroo adapter at exit l (model/adapter.ts) is a draft source beside the plain exit l: its drafts run
 * layers 1..l, the adapter (appending to its own KV cache) and the head with the adapter's norm; the verify pass is
 * the same. The adapter's cache follows the model's rollback; positions it missed (the last draft of an
 * all-accepted round, plain rounds) are fed before it is used again (AdapterFeeder). DEL weighs each adapter with
 * its own acceptance (its drafts and shadow tokens) and cost; `draftSource` pins adapters or plain exits.
 *
 * On a model loaded with an activation-sparse MLP, another draft source is Sirius': the sparse model (optionally
 * cut at an exit layer) drafts and the dense model verifies every row through every layer (draft_paths.ts), so the
 * output stays the dense model's. While the strategy runs, every pass but a sparse draft is dense. DEL chooses the
 * sparse source over its own choice when the sparse source's TPL, at its own acceptance (measured by drafting with
 * it, from a prior of 0.5), is higher; `draftSource: 'sparse'` pins it.
 *
 * With a draft vocabulary (model/draft_vocab.ts; `draftVocab`, on by default, never under a constraint) every draft
 * source's head, and the shadow tokens' head, score only its N tokens: argmax or sampling over N logits, the chosen
 * rank mapped to its token id, and for sampling the draft distribution spread over the vocabulary with 0 outside,
 * so rejection sampling stays exact. The verify pass keeps the whole head; DEL charges drafts N/vocab of a head.
 *
 * With draftLength 'auto', a round may draft nothing (a plain decoding step) when the cost model says drafting
 * does not pay, and the row-cost factor ρ of the cost model (see ExitPolicy) is calibrated online: it starts at
 * 1 on software adapters and 0.1 otherwise. (On SwiftShader an 8-row gemv batch costs ~3 single rows, ρ ≈ 0.3 for
 * the matmuls alone, but a lower start gains nothing there: on tiny-dense every fixed (exit layer, draft length)
 * with 3 or 6 drafts runs 0.45-0.75x greedy, because at 35-57% acceptance the drafts' layers and LM heads and the
 * unpipelined rounds cost more than speculation saves.) The wall time of every round (submit to readback) feeds
 * decayed averages of ms per emitted token for plain and for speculative rounds. Plain decoding between shadow
 * rounds runs in pipelined bursts like Autoregressive, since waiting for each token's readback would cost a CPU
 * round trip per token; a burst is 4 tokens, or runs up to the next probe where no shadow round is due (each
 * burst's end drains the pipeline, which greedy decoding does not). Every 16th round (a burst counts its tokens) is a probe that runs the alternative to DEL's
 * choice (the best drafting round if it chose plain, else a plain round), so both averages stay current; while
 * speculation measures slower each probe doubles the interval to the next (up to 128 rounds). A round that
 * compiled pipelines (the first of its shape on the device) is no timing sample: on CPU adapters compiling a
 * round's new pipelines takes 0.1-1.6 s, which, counted as speed, made 'auto' explore at a loss. After
 * any round where speculative rounds are more than 5% slower per token than plain ones ρ rises by 0.25; only
 * after a probe where they are more than 5% faster does it fall by 0.25. Retreating to plain decoding is immediate, returning to speculation
 * takes repeated evidence (one noisy plain sample must not push ρ down every round until the next probe), and
 * a context where drafts agree more can still win speculation back.
 */
export class SelfSpeculative implements DecodeStrategy {
  constructor(private readonly options: SelfSpeculativeOptions) {}

  async run(ctx0: DecodeContext): Promise<void> {
    let ctx = ctx0;
    const { model } = ctx;
    const { layers } = model.config;
    const { exitLayer, draftLength } = this.options;
    if (exitLayer !== 'auto' && !(Number.isInteger(exitLayer) && exitLayer >= 1 && exitLayer <= layers)) {
      throw new RangeError(`exitLayer must be 1..${layers} or 'auto', got ${exitLayer}`);
    }
    const rowLimit = maxDraftLength(model.rows); // the validator refuses longer drafts (EngineInfo.maxDraftLength)
    const maxDraft = draftLength === 'auto' ? Math.min(rowLimit, AUTO_MAX_DRAFT) : draftLength;
    if (!(maxDraft >= 1 && maxDraft <= rowLimit)) throw new RangeError(`draftLength must be 1..${rowLimit} or 'auto', got ${draftLength}`);
    const auto = exitLayer === 'auto' || draftLength === 'auto';
    const fixedExit = exitLayer === 'auto' ? undefined : exitLayer;
    const fixedDraft = draftLength === 'auto' ? undefined : maxDraft;
    const option = this.options.draftSource ?? 'auto';
    const draftVocab = this.options.draftVocab !== false && !ctx.constraint ? model.weights.draftVocab ?? null : null;
    const sources = { ...draftSources(model, option === 'sparse' ? 'exit' : option, fixedExit, auto), headFraction: draftVocab ? draftVocab.size / model.config.vocab : 1 };
    const sirius = this.siriusSource(model, exitLayer);
    const policy = new ExitPolicy(layers, maxDraft, undefined, undefined, undefined, undefined, sources);
    const calibration = draftLength === 'auto' ? new RowCostCalibration(ctx.gpu.tuning.verifyRowCost) : null;
    const shapes = roundShapes.get(model) ?? roundShapes.set(model, new Set()).get(model)!;
    const rng = this.options.sampling ? new Rng(this.options.sampling.seed) : null;
    const buffers = new RoundBuffers(model, maxDraft, rng !== null, ctx.constraint !== undefined);
    const feeder = new AdapterFeeder(model, ctx.prompt, buffers.exitStates);
    ctx = {
      ...ctx0,
      emit: (tokens, ...rest) => {
        feeder.sequence.push(...tokens);
        return ctx0.emit(tokens, ...rest);
      },
    };
    const stats = ctx.stats;
    stats.drafted ??= 0;
    stats.accepted ??= 0;
    stats.acceptanceByExitLayer ??= {};
    stats.acceptanceBySource ??= {};
    if (sources.adapters.length) stats.acceptanceByAdapter ??= {};
    const verdicts = auto ? (stats.tokensByVerdict = { draft: 0, plain: 0, ...(sources.adapters.length ? { adapter: 0 } : {}) }) : undefined;
    let pending = ctx.prompt[ctx.prompt.length - 1];
    let shadowTurn = 0;
    let plainRounds = 0;
    const sparse = model.sparse;
    const wasDense = sparse?.dense ?? false;
    if (sparse) sparse.dense = true; // the model that verifies, and plain rounds, stay dense: lossless
    try {
      while (!ctx.shouldStop()) {
        const start = model.kv.length;
        if (calibration) policy.rowCost = calibration.rowCost;
        const probe = calibration?.probeDue() ?? false;
        // with draft length 'auto' only probes may run a round of a new shape (compiling its pipelines)
        const known = calibration ? (s: DraftSource, d: number) => shapes.has(draftShape(s, d)) : undefined;
        const ran = probe ? undefined : known;
        let choice: ReturnType<ExitPolicy['choose']> & { path?: DraftPath } = policy.choose(fixedExit, fixedDraft, 0, known);
        if (sirius && (option === 'sparse' || auto)) choice = this.preferSparse(choice, sirius, policy, fixedExit, fixedDraft);
        if (probe) {
          // the drafting round the cost model prefers if it is of a new shape, else the alternative to the choice
          const best = policy.choose(fixedExit, fixedDraft);
          const fresh = best.draftLength > 0 && !known!(best, best.draftLength);
          choice = fresh ? best : choice.draftLength === 0 ? policy.choose(fixedExit, fixedDraft, 1) : { exitLayer: choice.exitLayer, draftLength: 0 };
        }
        const { path: chosenPath, ...chosen } = choice;
        if (auto) stats.delDecision = { verdict: choice.draftLength > 0 ? 'draft' : 'plain', probe, ...chosen, ...(chosenPath ? { sparse: true as const } : {}), ...policy.explain(fixedExit, fixedDraft) };
        const room = Math.min(choice.draftLength, ctx.remaining() - 1, model.kv.maxSeq - start - 1);
        if (room < 0) return;
        const roomLeft = ran && room > 0 && !ran(choice, room) ? 0 : room; // a draft cut short by the end: a shape of its own
        // a plain round's exit layer drafts nothing, so every source may be the shadow; plain rounds measure
        // acceptance only while some drafting round could still win under the cost model
        const measuring = policy.draftingCanWin(fixedExit) && !calibration?.speculationLoses; // plain rounds may carry shadows
        const shadowDue = auto && (roomLeft > 0 || (measuring && plainRounds++ % PLAIN_SHADOW_EVERY === 0));
        const picked = shadowDue ? pickShadow(policy, roomLeft > 0 && !chosenPath ? choice : null, shadowTurn++) : null;
        const shadow = picked && (!ran || shapes.has(shadowShape(picked, roomLeft))) ? picked : null;
        const adapter = roomLeft > 0 && choice.adapter ? model.adapter(choice.exitLayer)! : null;
        const path = chosenPath ?? exitPath(choice.exitLayer);
        const plan: RoundPlan = { start, exitLayer: choice.exitLayer, adapter, path, maxDraft: roomLeft, shadow, draftVocab };
        if (roomLeft === 0 && shadow === null && !rng) {
          const began = performance.now(), pipelines = pipelineCount(ctx.gpu);
          // a burst drains the pipeline at its end: without shadows to interleave it runs up to the next probe
          const burst = await this.plainBurst(ctx, pending, plan.exitLayer, measuring || !calibration ? PLAIN_BURST : Math.max(PLAIN_BURST, calibration.roundsToProbe()));
          calibration?.record(0, performance.now() - began, burst.tokens, probe, pipelineCount(ctx.gpu) > pipelines);
          if (verdicts) verdicts.plain += burst.tokens;
          if (burst.stopped || burst.tokens === 0) return;
          pending = burst.last;
          continue;
        }
        shapes.add(draftShape(choice, roomLeft));
        if (shadow) shapes.add(shadowShape(shadow, roomLeft));
        const began = performance.now(), pipelines = pipelineCount(ctx.gpu);
        const round = await this.round(ctx, buffers, feeder, rng, pending, plan);
        const { drafted, accepted, tokens } = round;
        calibration?.record(drafted, performance.now() - began, tokens.length, probe, pipelineCount(ctx.gpu) > pipelines);
        stats.forwardPasses += round.passes;
        stats.drafted += drafted;
        stats.accepted += accepted;
        if (verdicts) verdicts[drafted > 0 ? 'draft' : 'plain'] += tokens.length;
        if (verdicts && adapter && drafted > 0) verdicts.adapter! += tokens.length;
        const sparseRound = path.kind === 'sparse';
        if (drafted > 0) {
          const bySource = (stats.acceptanceBySource[sparseRound ? 'sparse' : adapter ? 'adapter' : 'exit'] ??= { drafted: 0, accepted: 0 });
          bySource.drafted += drafted;
          bySource.accepted += accepted;
        }
        if (drafted > 0 && !sparseRound) {
          const perSource = ((adapter ? stats.acceptanceByAdapter! : stats.acceptanceByExitLayer)[plan.exitLayer] ??= { drafted: 0, accepted: 0 });
          perSource.drafted += drafted;
          perSource.accepted += accepted;
        }
        if (sparseRound) sirius!.observe(accepted, Math.min(accepted + 1, drafted));
        else policy.observe(plan.exitLayer, accepted, Math.min(accepted + 1, drafted), adapter !== null);
        if (shadow !== null && round.shadowTokens) {
          const valid = tokens.length; // rows 0..n saw only accepted tokens: their targets are real
          let matches = 0;
          for (let j = 0; j < valid; j++) if (round.shadowTokens[j] === tokens[j]) matches++;
          policy.observe(shadow.exitLayer, matches, valid, shadow.adapter);
          if (shadow.adapter) model.adapter(shadow.exitLayer)!.kv.extend(drafted + 1); // its rows ran through the adapter
        }
        adapter?.kv.extend(drafted); // the drafts ran positions start..start + drafted - 1 through it
        model.kv.extend(drafted + 1); // the verify pass wrote positions start..start + drafted
        model.kv.truncate(start + accepted + 1); // and the adapters' caches (KvCache.follow)
        feeder.noteRound(sparseRound ? 0 : plan.exitLayer, start, drafted, accepted); // sparse exit states feed no adapter
        pending = tokens[tokens.length - 1];
        for (const t of tokens) ctx.constraint?.advance(t);
        const origins: TokenOrigin[] = tokens.map((_, i) => (i < accepted ? 'accepted' : drafted === 0 ? 'plain' : accepted < drafted ? 'corrected' : 'bonus'));
        if (!ctx.emit(tokens, origins, { exitLayer: plan.exitLayer, ...(adapter && drafted > 0 ? { adapter: true as const } : {}), drafted, accepted })) return;
      }
    } finally {
      buffers.destroy();
      feeder.destroy();
      if (sparse) sparse.dense = wasDense;
    }
  }

  /** The Sirius draft source (the sparse model's first `exitLayer` layers, all by default), when the options and the model allow one. */
  private siriusSource(model: Transformer, exitLayer: number | 'auto'): PathAcceptance | null {
    const option = this.options.draftSource ?? 'auto';
    if (option === 'sparse' && !model.sparse) throw new RangeError("draftSource 'sparse' needs a model loaded with sparsity: { mlp }");
    if ((option !== 'sparse' && option !== 'auto') || !model.sparse) return null;
    return new PathAcceptance(sparsePath(model.config, exitLayer === 'auto' ? model.config.layers : exitLayer, model.sparse.target));
  }

  /** Sparse drafts instead of DEL's choice when pinned, or when their TPL (measured acceptance, cost model) is higher. */
  private preferSparse(choice: ReturnType<ExitPolicy['choose']>, sirius: PathAcceptance, policy: ExitPolicy, fixedExit?: number, fixedDraft?: number) {
    const { layers, headCost, rowCost } = policy;
    const sparse = sirius.best(layers, policy.maxDraft, headCost, rowCost, fixedDraft, 1, policy.draftHeadCost);
    const plainTpl = 1 / (layers + headCost);
    const choiceTpl = choice.draftLength === 0 ? plainTpl : policy.explain(fixedExit, fixedDraft).bestDraft.gain * plainTpl;
    const pinned = this.options.draftSource === 'sparse';
    return pinned || sparse.tpl > choiceTpl ? { exitLayer: sirius.path.exitLayer, draftLength: sparse.draftLength, path: sirius.path } : choice;
  }

  /**
   * Up to `length` plain tokens through the pipelined greedy loop (the next step is submitted before the
   * previous token is read back), each emitted as a 0-draft round. `stopped`: generation must end.
   */
  private async plainBurst(ctx: DecodeContext, pending: number, exitLayer: number, length: number): Promise<{ tokens: number; last: number; stopped: boolean }> {
    let tokens = 0, last = pending, stopped = false;
    await new Autoregressive().run({
      ...ctx,
      prompt: [pending],
      remaining: () => Math.min(ctx.remaining(), length - tokens),
      emit: (emitted) => {
        tokens += emitted.length;
        last = emitted[emitted.length - 1];
        stopped = !ctx.emit(emitted, emitted.map(() => 'plain'), { exitLayer, drafted: 0, accepted: 0 });
        return !stopped && tokens < length;
      },
    });
    return { tokens, last, stopped };
  }

  /** Draft up to plan.maxDraft tokens, verify them, and return what the round emits. */
  private async round(ctx: DecodeContext, b: RoundBuffers, feeder: AdapterFeeder, rng: Rng | null, pending: number, plan: RoundPlan): Promise<RoundOutcome> {
    const { gpu, model } = ctx;
    // the adapters this round uses catch up first, in a step of their own (Kangaroo's drafts are submitted one by one)
    const behind = [plan.adapter, plan.shadow?.adapter ? model.adapter(plan.shadow.exitLayer)! : null].filter((a) => a && a.kv.length < plan.start);
    const catchUp = behind.length ? ctx.newStep() : null;
    const caughtUp = behind.reduce((n, a) => n + feeder.catchUp(catchUp!, a!, plan.start), 0);
    const fed = catchUp?.submit();
    gpu.device.queue.writeBuffer(b.tokens, 0, Uint32Array.of(pending));
    if (rng) gpu.device.queue.writeBuffer(b.uniforms, 0, Float32Array.from({ length: plan.maxDraft + 1 }, () => rng.next()));
    const threshold = this.options.confidenceThreshold;
    let drafted = plan.maxDraft;
    let passes = 1 + caughtUp;
    const step = ctx.newStep();
    if (ctx.constraint) gpu.device.queue.writeBuffer(b.masks, 0, ctx.constraint.mask());
    if (ctx.constraint && plan.maxDraft > 0) {
      drafted = await this.constrainedDrafts(ctx, b, rng, plan, ctx.constraint);
      passes += drafted;
    } else if (threshold > 0 && plan.maxDraft > 0) {
      // Kangaroo: read each draft's confidence back while the next draft is already submitted
      const submitDraft = (i: number) => {
        const s = ctx.newStep();
        this.recordDraft(ctx, s, b, rng, plan, i);
        s.read(b.confidence, 4 * i, 4);
        passes++;
        return s.submit();
      };
      let inFlight = submitDraft(0);
      for (let i = 0; ; i++) {
        const next = i + 1 < plan.maxDraft ? submitDraft(i + 1) : null;
        const [bytes] = await inFlight;
        drafted = i + 1;
        // a draft submitted past the stop only wrote slots the verify pass overwrites or ignores
        if (!next || new Float32Array(bytes)[0] < threshold) break;
        inFlight = next;
      }
    } else {
      for (let i = 0; i < drafted; i++) this.recordDraft(ctx, step, b, rng, plan, i);
      passes += drafted;
    }
    this.recordVerify(ctx, step, b, rng !== null, plan, drafted);
    const [result, shadow] = await step.submit();
    await fed;
    const words = new Uint32Array(result);
    const accepted = words[0];
    return { drafted, accepted, tokens: Array.from(words.subarray(1, accepted + 2)), shadowTokens: shadow && new Uint32Array(shadow), passes };
  }

  /**
   * Drafts under a constraint: each draft's token is read back, its position's state advanced on a fork, and the
   * next position's mask written to masks[i + 1] before the next draft (which applies it) is submitted. The verify
   * pass then applies masks[0..k] to its rows, so every row's choice is the constrained one. Returns the drafts made.
   */
  private async constrainedDrafts(ctx: DecodeContext, b: RoundBuffers, rng: Rng | null, plan: RoundPlan, constraint: TokenConstraint): Promise<number> {
    const words = maskWords(ctx.model.config.vocab);
    const threshold = this.options.confidenceThreshold;
    const state = constraint.fork();
    for (let i = 0; ; i++) {
      const s = ctx.newStep();
      this.recordDraft(ctx, s, b, rng, plan, i);
      s.read(b.tokens, 4 * (i + 1), 4);
      if (threshold > 0) s.read(b.confidence, 4 * i, 4);
      const [token, confidence] = (await s.submit()).map((bytes, j) => (j === 0 ? new Uint32Array(bytes)[0] : new Float32Array(bytes)[0]));
      if (token >= ctx.model.config.vocab) return i + 1; // non-finite logits: the round's emit reports them
      state.advance(token);
      ctx.gpu.device.queue.writeBuffer(b.masks, 4 * (i + 1) * words, state.mask());
      if (i + 1 >= plan.maxDraft || ctx.eosIds.has(token) || (threshold > 0 && confidence < threshold)) return i + 1;
    }
  }

  /** Draft i: token i of the round through layers [0, E) at position start + i, then norm + head → draft i + 1. */
  private recordDraft(ctx: DecodeContext, step: Step, b: RoundBuffers, rng: Rng | null, plan: RoundPlan, i: number): void {
    const { gpu, model } = ctx;
    const { act, config } = model;
    const rowBytes = 4 * config.hidden;
    const sparse = plan.path.kind === 'sparse' ? model.sparse : undefined;
    model.embed(step, b.tokens, i, 1);
    if (sparse) sparse.dense = false; // read when the passes are recorded: only this draft's MLPs skip neurons
    this.layersCapturing(step, model, b, 1, plan.start + i, 0, plan.exitLayer, plan.shadow?.exitLayer ?? null, i);
    if (sparse) sparse.dense = true;
    step.copy(act.x, 0, b.exitStates, i * rowBytes, rowBytes);
    plan.adapter?.record(step, model, 1, plan.start + i);
    const dv = plan.draftVocab;
    model.head(step, 1, 0, plan.adapter?.weights.norm, dv !== null);
    // with a draft vocabulary the draft's logits, distribution and choice are over its N tokens in rank order
    const vocab = dv ? dv.size : config.vocab;
    if (ctx.constraint) maskRows(gpu, step, { logits: act.logits, rows: 1, vocab, masks: b.masks, firstMask: i });
    const sampling = this.options.sampling;
    if (sampling && rng) {
      distribution(gpu, step, { logits: act.logits, rows: 1, vocab, probs: act.probs, ...sampling });
      // acceptance compares q over the whole vocabulary: tokens outside the draft vocabulary have q = 0
      if (dv) draftProbs(gpu, step, { tables: dv, probs: act.probs, out: b.draftProbs, outOffset: i * config.vocab, vocab: config.vocab });
      else step.copy(act.probs, 0, b.draftProbs, 4 * i * vocab, 4 * vocab);
      sampleFromProbs(gpu, step, { probs: act.probs, row: 0, vocab, uniform: rng.next(), out: b.tokens, outOffset: i + 1 });
    } else {
      argmax(gpu, step, { logits: act.logits, rows: 1, vocab, out: b.tokens, outOffset: i + 1 });
    }
    if (dv) draftIds(gpu, step, { tables: dv, tokens: b.tokens, offset: i + 1, count: 1 });
    if (this.options.confidenceThreshold > 0) draftConfidence(gpu, step, { logits: act.logits, rows: 1, vocab, out: b.confidence, outOffset: i });
  }

  /**
   * The verify pass over [pending, d_1..d_k] at positions start..start+k: the last draft (the only token the
   * early layers have not seen) runs layers [0, E); its exit state joins the cached ones and all k + 1 rows run
   * layers [E, L) and the head. Then acceptance, and (DEL) the shadow layer's tokens for the same rows.
   */
  private recordVerify(ctx: DecodeContext, step: Step, b: RoundBuffers, sampled: boolean, plan: RoundPlan, k: number): void {
    const { gpu, model } = ctx;
    const { act, config } = model;
    const rowBytes = 4 * config.hidden;
    const rows = k + 1;
    const vocab = config.vocab;
    const shadowLayer = plan.shadow?.exitLayer ?? null;
    const reused = plan.path.reusedLayers;
    if (reused > 0) {
      model.embed(step, b.tokens, k, 1);
      this.layersCapturing(step, model, b, 1, plan.start + k, 0, reused, shadowLayer, k);
      step.copy(act.x, 0, b.exitStates, k * rowBytes, rowBytes);
      step.copy(b.exitStates, 0, act.x, 0, rows * rowBytes);
    } else {
      model.embed(step, b.tokens, 0, rows); // sparse drafts' states are not the dense model's: every row runs every layer
    }
    this.layersCapturing(step, model, b, rows, plan.start, reused, config.layers, shadowLayer, 0);
    model.head(step, rows);
    if (ctx.constraint) maskRows(gpu, step, { logits: act.logits, rows, vocab, masks: b.masks, firstMask: 0 });
    if (sampled) {
      distribution(gpu, step, { logits: act.logits, rows, vocab, probs: act.probs, ...this.options.sampling! });
      acceptSampled(gpu, step, {
        p: act.probs, q: b.draftProbs, tokens: b.tokens, draftsOffset: 1, drafts: k, vocab,
        uniforms: b.uniforms, uniformsOffset: 0, out: b.result, outOffset: 0,
      });
    } else {
      argmax(gpu, step, { logits: act.logits, rows, vocab, out: b.targets, outOffset: 0 });
      acceptGreedy(gpu, step, { tokens: b.tokens, draftsOffset: 1, drafts: k, targets: b.targets, out: b.result, outOffset: 0 });
    }
    step.read(b.result, 0, 4 * (rows + 1));
    if (plan.shadow) {
      // the exit layer's states are the exit states; any other layer's were captured on the way
      step.copy(plan.shadow.exitLayer === reused ? b.exitStates : b.shadowStates, 0, act.x, 0, rows * rowBytes);
      const shadowAdapter = plan.shadow.adapter ? model.adapter(plan.shadow.exitLayer)! : null;
      shadowAdapter?.record(step, model, rows, plan.start);
      const dv = plan.draftVocab;
      model.head(step, rows, 0, shadowAdapter?.weights.norm, dv !== null);
      argmax(gpu, step, { logits: act.logits, rows, vocab: dv ? dv.size : vocab, out: b.shadowTokens, outOffset: 0 });
      if (dv) draftIds(gpu, step, { tables: dv, tokens: b.shadowTokens, offset: 0, count: rows });
      step.read(b.shadowTokens, 0, 4 * rows);
    }
  }

  /** layers [from, to) over `count` rows; when the shadow layer falls inside, copy the rows' states after it to shadowStates[row..]. */
  private layersCapturing(step: Step, model: Transformer, b: RoundBuffers, count: number, start: number, from: number, to: number, shadow: number | null, row: number): void {
    if (shadow === null || shadow <= from || shadow >= to) {
      model.layers(step, count, start, from, to);
      return;
    }
    const rowBytes = 4 * model.config.hidden;
    model.layers(step, count, start, from, shadow);
    step.copy(model.act.x, 0, b.shadowStates, row * rowBytes, count * rowBytes);
    model.layers(step, count, start, shadow, to);
  }
}

/** The round shapes (draftShape, shadowShape) a model has run: their pipelines are compiled. */
const roundShapes = new WeakMap<Transformer, Set<string>>();
/** What a round's pipelines depend on: its draft count and whether an adapter drafts. */
const draftShape = (source: DraftSource, drafts: number) => `draft ${drafts}${source.adapter ? ' adapter' : ''}`;
/** The same for the shadow tokens of a round with `drafts` drafts (drafts + 1 rows). */
const shadowShape = (source: DraftSource, drafts: number) => `shadow ${drafts}${source.adapter ? ' adapter' : ''}`;

/**
 * Shadow sources rotate over the plain exits 1..L−1 (when the policy drafts from plain exits) and the adapters,
 * except a drafting round's own source (whose acceptance the drafts themselves measure).
 */
function pickShadow(policy: ExitPolicy, drafting: DraftSource | null, turn: number): DraftSource | null {
  const plain = policy.sources.plain ? Array.from({ length: policy.layers - 1 }, (_, i): DraftSource => ({ exitLayer: i + 1 })) : [];
  const adapters = policy.sources.adapters.map(({ exitLayer }): DraftSource => ({ exitLayer, adapter: true }));
  const candidates = [...plain, ...adapters].filter((c) => !drafting || c.exitLayer !== drafting.exitLayer || !c.adapter !== !drafting.adapter);
  return candidates.length ? candidates[turn % candidates.length] : null;
}
