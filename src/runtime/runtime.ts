import type { Gpu } from '../gpu/device';
import { PacedSubmits, ParamArena, type Step } from '../gpu/step';
import { Profiler } from '../gpu/profile';
import { AbortError, ContextLengthError, InferError, ModelFormatError, NonFiniteError } from '../contract/errors';
import type { ChatMessage, ChatTool, EngineInfo, EngineOptions, GenerateEvent, GenerateRequest, GenerateResult, GenerateStats, KernelProfile, LoadProgress, Strategy } from '../contract/types';
import type { ModelSource } from '../model/source';
import { loadConfig, type ModelConfig } from '../model/config';
import { destroyWeights, loadWeights, type ModelWeights } from '../model/weights';
import { fuseProjections } from '../model/fused_weights';
import { parameterCount } from '../model/weight_plan';
import { Tokenizer } from '../model/tokenizer';
import { EMPTY_GENERATION_CONFIG, loadGenerationConfig, type GenerationConfig } from '../model/generation_config';
import { renderChat } from '../model/chat_template';
import { KvCache, kvSlots } from '../model/kv_cache';
import { loadNgramTable, type NgramTable } from '../model/ngram';
import { Transformer } from '../model/forward';
import { layersFeedingAdapters } from '../model/adapter_forward';
import { MlpBlocks } from '../model/moe';
import { residentExperts } from '../model/expert_cache';
import { createStrategy } from '../decode';
import { Autoregressive } from '../decode/autoregressive';
import { maxDraftLength } from '../decode/self_speculative';
import { controlOptions, LogitControls } from '../decode/controls';
import { compileFormat, startConstraint, TokenTrie } from '../decode/constraints';
import { OutputCollector } from './output';
import { validatePrompt, validateRequest, validateTokenIds } from '../contract/validate';

/** The engine options a Runtime acts on (documented on EngineOptions). */
export type RuntimeOptions = Pick<EngineOptions, 'quantize' | 'contextLength' | 'maxResidentExperts' | 'prefetchExperts' | 'scanWeights' | 'sparsity' | 'ngrams' | 'profile'>;

const DEFAULT_CONTEXT = 2048;
const DEFAULT_MAX_TOKENS = 256;
/** A stoppable prefill keeps about this much GPU work queued: how long a stop may wait for the GPU. */
const QUEUED_GPU_MS = 100;

/**
 * The in-process runtime: one loaded model on one GPU device, serving one request at a time.
 * No DOM and no worker code: the worker, the in-thread engine and the Node engine all wrap it.
 */
export class Runtime {
  private readonly arena: ParamArena;
  private readonly profiler?: Profiler;
  private disposed = false;
  /** the MLP variant (dense, MoE, expert budget, activation sparsity): its steps and stats */
  private mlp!: MlpBlocks;
  /** n-gram table for superposed decoding: RuntimeOptions.ngrams, else looked for next to the model when first asked */
  private ngrams: () => Promise<NgramTable | undefined> = async () => undefined;
  /** the tokens whose keys and values the KV cache holds at positions 0..: a new request reuses its shared prefix */
  private kvTokens: number[] = [];
  /** the vocabulary as a trie of token texts for constrained decoding, built on first use */
  private trie?: TokenTrie;
  /** the checkpoint's generation_config.json: EOS ids, and the sampling of requests without a strategy */
  private generation: GenerationConfig = EMPTY_GENERATION_CONFIG;

  private constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    /** null for folders without tokenizer.json: prompts must then be token ids */
    private readonly maybeTokenizer: Tokenizer | null,
    readonly model: Transformer,
    readonly info: EngineInfo,
    options: RuntimeOptions,
  ) {
    this.arena = new ParamArena(gpu);
    if (options.profile) this.profiler = new Profiler(gpu, config.layers);
  }

  static async load(gpu: Gpu, source: ModelSource, options: RuntimeOptions = {}, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<Runtime> {
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortError('model loading was aborted', { model: source.describe });
    };
    onProgress?.({ phase: 'config', loadedBytes: 0, totalBytes: 0, file: 'config.json' });
    const config = await loadConfig(source);
    checkAbort();
    onProgress?.({ phase: 'tokenizer', loadedBytes: 0, totalBytes: 0, file: 'tokenizer.json' });
    const generation = await loadGenerationConfig(source);
    const tokenizer = (await source.exists('tokenizer.json')) ? await Tokenizer.load(source, generation) : null;
    checkAbort();
    const weights = await loadWeights(gpu, config, source, {
      quantize: options.quantize,
      scanWeights: options.scanWeights ?? true,
      residentExperts: residentExperts(config, options.maxResidentExperts),
      signal,
      onProgress: (loadedBytes, totalBytes) => onProgress?.({ phase: 'weights', loadedBytes, totalBytes }),
    });
    fuseProjections(gpu, weights, { gateUp: !((options.sparsity?.mlp ?? 0) > 0) }); // the sparse MLP reads gate and up apart
    onProgress?.({ phase: 'compile', loadedBytes: weights.bytes, totalBytes: weights.bytes }); // KV cache, activations, MLP variant
    const contextLength = contextTokens(config, options.contextLength);
    const rows = passRows(config.vocab);
    const windows = config.recipe.map((r) => r.attention.window);
    const kv = new KvCache(gpu, config.layers, config.kvHeads, config.headDim, contextLength, kvSlots(config, contextLength, rows), windows);
    const mlp = await MlpBlocks.create(gpu, config, weights, rows, options);
    const model = new Transformer(gpu, config, weights, kv, rows, mlp.block, mlp.sparse);
    await mlp.calibrate(model, tokenizer ? (text) => tokenizer.encode(text) : undefined);
    const info = engineInfo(gpu, config, weights, contextLength, rows);
    // a named table is checked with the model; the default places are probed only once superposed decoding asks
    const named = options.ngrams ? await loadNgramTable(source, config.vocab, options.ngrams) : undefined;
    let found: Promise<NgramTable | undefined> | undefined;
    onProgress?.({ phase: 'ready', loadedBytes: weights.bytes, totalBytes: weights.bytes });
    const runtime = new Runtime(gpu, config, weights, tokenizer, model, info, options);
    runtime.ngrams = named ? async () => named : () => (found ??= loadNgramTable(source, config.vocab).catch(() => undefined));
    runtime.mlp = mlp;
    runtime.generation = generation;
    return runtime;
  }

  get tokenizer(): Tokenizer {
    if (!this.maybeTokenizer) throw new ModelFormatError(`${this.info.architecture} model has no tokenizer.json: pass prompts as token ids`, { file: 'tokenizer.json' });
    return this.maybeTokenizer;
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  detokenize(ids: number[]): string {
    return this.tokenizer.decode(ids);
  }

  applyChatTemplate(messages: ChatMessage[], tools?: ChatTool[]): string {
    return renderChat(this.tokenizer, messages, { addGenerationPrompt: true, tools });
  }

  /** Dispatches, CPU and GPU time per kernel and per step shape since load (empty without `profile: true`). */
  kernelProfile(): KernelProfile {
    return this.profiler?.report() ?? { timestamps: false, layers: this.config.layers, kernels: [], steps: [] };
  }

  /** Full-model logits at every position of `ids`: Float32Array [ids.length * vocab]. */
  async logits(ids: number[]): Promise<Float32Array> {
    this.checkUsable();
    if (ids.length === 0) return new Float32Array(0);
    validateTokenIds('ids', ids, this.info);
    if (ids.length > this.model.kv.maxSeq) throw new ContextLengthError(`ids: ${ids.length} tokens exceed the context of ${this.model.kv.maxSeq}`, { tokens: ids.length, contextLength: this.model.kv.maxSeq });
    const { model } = this;
    const vocab = this.config.vocab;
    const out = new Float32Array(ids.length * vocab);
    this.kvTokens = [];
    await this.forwardChunks(ids, 0, ids.length, (step, count) => {
      model.head(step, count);
      step.read(model.act.logits, 0, 4 * count * vocab);
    }, (start, [bytes]) => out.set(new Float32Array(bytes), start * vocab));
    model.kv.clear();
    return out;
  }

  /** Run one request to completion, emitting events; ends with 'done'. */
  async generate(request: Omit<GenerateRequest, 'signal'>, emit: (ev: GenerateEvent) => void, shouldStop: () => boolean = () => false): Promise<GenerateResult> {
    this.checkUsable();
    validateRequest(request, this.info);
    const format = compileFormat(request.responseFormat); // a format outside the supported subset fails here, before any GPU work
    const prompt = typeof request.prompt === 'string' ? this.tokenizer.encode(request.prompt) : [...request.prompt];
    const { model } = this;
    validatePrompt('prompt', prompt, this.info);
    const strategy = createStrategy(request.strategy ?? defaultStrategy(this.generation));
    const ngrams = request.strategy?.kind === 'superposed' ? await this.ngrams() : undefined;
    const maxTokens = Math.min(request.maxTokens ?? DEFAULT_MAX_TOKENS, model.kv.maxSeq - prompt.length);
    const stats: GenerateStats = { prefillTokens: prompt.length, prefillMs: 0, decodeTokens: 0, decodeMs: 0, forwardPasses: 0 };
    const stopAtEos = request.stopAtEos ?? true;
    // with stopAtEos false, EOS is an ordinary token for the output and for the strategies (superposed drafts end at EOS)
    const modelEos = this.maybeTokenizer?.eosIds ?? [...this.config.eosTokenIds, ...this.generation.eosIds];
    const eosIds = new Set(stopAtEos ? modelEos : []);
    const decode = this.maybeTokenizer ? (ids: number[]) => this.tokenizer.decode(ids) : () => '';
    const output = new OutputCollector(decode, emit, maxTokens, eosIds, request.stop ?? []);

    this.mlp.resetStats();
    const t0 = performance.now();
    const shared = sharedPrefix(this.kvTokens, prompt, prompt.length - 1);
    // a ring cache may have lost the keys just below the prefix; Kangaroo adapters need their own keys of the prefix
    const feedAdapters = request.strategy?.kind === 'self-speculative';
    const cached = Math.min(model.kv.keeps(shared) ? shared : 0, ...(feedAdapters ? model.adapters.map((a) => a.kv.length) : []));
    this.kvTokens = [];
    const prefilled = await this.prefill(prompt.slice(0, -1), cached, prompt.length, shouldStop, feedAdapters);
    stats.prefillMs = performance.now() - t0;
    stats.cachedTokens = cached;
    if (prompt.length - 1 > cached) stats.forwardPasses += Math.ceil((prompt.length - 1 - cached) / model.rows);
    const constraint = format && startConstraint(this.tokenTrie(), format, modelEos);
    const options = controlOptions(request, constraint !== undefined);
    const controls = options && new LogitControls(this.gpu, this.config.vocab, options, prompt, model.act.tokenCapacity);

    const t1 = performance.now();
    let draftsSeen: GenerateResult['drafts'];
    if (!prefilled) output.abort();
    else await strategy.run({
      gpu: this.gpu,
      model,
      prompt,
      emit: (tokens, origins, round, logprobs) => {
        // the pick kernels answer an id past the vocabulary (0xffffffff) for a row of logits holding NaN or infinity
        if (tokens.some((t) => t >= this.config.vocab)) {
          throw new NonFiniteError(`the model produced NaN or infinite logits after ${output.tokens.length} generated tokens (non-finite weights or activations)`, { generatedTokens: output.tokens.length });
        }
        return output.push(tokens, origins, round, logprobs);
      },
      emitDrafts: (drafts) => {
        draftsSeen = drafts;
        emit({ type: 'drafts', drafts });
      },
      shouldStop: () => {
        if (shouldStop()) output.abort();
        return output.finished;
      },
      remaining: () => output.remaining(),
      stats,
      newStep: this.mlp.stepFactory(this.gpu, this.arena, this.profiler),
      eosIds,
      detokenize: decode,
      ngrams,
      controls,
      constraint,
    }).finally(() => controls?.destroy());
    if (constraint) Object.assign(stats, { constraintMasks: constraint.masks, constraintMaskMs: constraint.maskMs });
    // one-row decoding writes each token's KV exactly as a prefill would; other strategies keep only the prompt's;
    // a stopped prefill may have overwritten ring slots below its start: nothing is kept
    if (prefilled) this.kvTokens = strategy instanceof Autoregressive ? [...prompt, ...output.tokens].slice(0, model.kv.length) : prompt.slice(0, -1);
    stats.decodeMs = performance.now() - t1;
    stats.decodeTokens = output.tokens.length;
    Object.assign(stats, await this.mlp.stats());
    const result = output.result(stats, draftsSeen ? { drafts: draftsSeen } : {});
    emit({ type: 'done', result });
    return result;
  }

  /** Release this model's GPU buffers; the device belongs to whoever created it. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.destroy();
    this.mlp.destroy();
    this.model.kv.destroy();
    destroyWeights(this.weights);
    this.arena.destroy();
    this.profiler?.destroy();
  }

  private tokenTrie(): TokenTrie {
    const tokenizer = this.tokenizer;
    this.trie ??= new TokenTrie(Array.from({ length: this.config.vocab }, (_, id) => (id < tokenizer.vocabSize ? tokenizer.decode([id]) : '')));
    return this.trie;
  }

  /** Forget the KV cache of earlier requests: the next request prefills its whole prompt. */
  resetCache(): void {
    this.kvTokens = [];
  }

  /**
   * Write the KV cache for `ids` at positions `from`.. in chunks (positions below `from` are kept), as part of a
   * `seqLen`-token sequence; false when `shouldStop` ended it between two layers (the cache then holds only `from`).
   * `feedAdapters`: the Kangaroo adapters' caches too.
   */
  private async prefill(ids: number[], from: number, seqLen: number, shouldStop: () => boolean, feedAdapters: boolean): Promise<boolean> {
    if (!(await this.forwardChunks(ids, from, seqLen, undefined, undefined, shouldStop, feedAdapters))) {
      this.model.kv.truncate(from); // the adapters' caches may count positions of the stopped pass
      return false;
    }
    this.model.kv.extend(ids.length - from);
    return true;
  }

  /**
   * Run `ids[from..]` through all layers at positions from.. in chunks of model.rows tokens, one submit each; they
   * belong to a sequence of `seqLen` tokens (LongRoPE picks its factors by it, as transformers does for the whole input).
   * `extend` records more work into a chunk's step (e.g. the head); `collect` gets the chunk's reads.
   * Without reads, chunks are submitted back to back and only the last is awaited.
   * With `shouldStop` (a prefill that dispose, reload or abort may end) each layer is a submit of its own, with
   * about QUEUED_GPU_MS of work queued on the GPU, and the pass stops between layers, even mid-chunk: false when it
   * stopped. One chunk of a long prompt takes seconds on a software adapter, one layer a fraction of that; on a fast
   * GPU hundreds of layers stay queued, so the GPU never waits for the CPU.
   * `feedAdapters`: layersFeedingAdapters.
   */
  private async forwardChunks(
    ids: number[],
    from: number,
    seqLen: number,
    extend?: (step: Step, count: number) => void,
    collect?: (start: number, reads: ArrayBuffer[]) => void,
    shouldStop?: () => boolean,
    feedAdapters = false,
  ): Promise<boolean> {
    const { model, gpu } = this;
    const { layers } = model.config;
    const perSubmit = shouldStop ? 1 : layers;
    const paced = new PacedSubmits(gpu, QUEUED_GPU_MS);
    /** Submits `step`; true when the pass stops (then nothing is left on the GPU). */
    const submitAndStop = async (step: Step) => {
      await paced.submit(step);
      if (!shouldStop!()) return false;
      await paced.drain();
      return true;
    };
    model.kv.truncate(from);
    let last: Promise<ArrayBuffer[]> = Promise.resolve([]);
    for (let start = from; start < ids.length; start += model.rows) {
      const count = Math.min(model.rows, ids.length - start);
      gpu.device.queue.writeBuffer(model.act.ids, 0, new Uint32Array(ids.slice(start, start + count)));
      let step = this.newStep();
      model.embed(step, model.act.ids, 0, count);
      for (let layer = 0; layer < layers; layer += perSubmit) {
        if (layer > 0) {
          if (await submitAndStop(step)) return false;
          step = this.newStep();
        }
        const to = Math.min(layer + perSubmit, layers);
        if (feedAdapters) layersFeedingAdapters(model, step, count, start, seqLen, layer, to);
        else model.layers(step, count, start, layer, to, seqLen);
      }
      extend?.(step, count);
      if (shouldStop) {
        if (await submitAndStop(step)) return false;
        continue;
      }
      last = step.submit();
      if (collect) collect(start, await last);
    }
    await Promise.all([last, paced.drain()]);
    await gpu.device.queue.onSubmittedWorkDone(); // chunks without reads resolve at submit; time the GPU work here
    return true;
  }

  private newStep() {
    return this.mlp.stepFactory(this.gpu, this.arena, this.profiler)();
  }

  private checkUsable(): void {
    if (this.disposed) throw new InferError('the runtime has been disposed');
  }
}

/** Length of the common prefix of `a` and `b`, at most `limit`. */
function sharedPrefix(a: readonly number[], b: readonly number[], limit: number): number {
  let n = 0;
  while (n < limit && n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** A request without a strategy samples as generation_config.json says (do_sample), else decodes greedily. */
function defaultStrategy({ sampling }: GenerationConfig): Strategy {
  return sampling ? { kind: 'sample', ...sampling } : { kind: 'greedy' };
}

/** Rows per pass: prefill chunks of up to 64 tokens, fewer for huge vocabularies (the logits buffer is [rows, vocab]). */
export function passRows(vocab: number): number {
  return Math.max(16, Math.min(64, Math.floor((64 << 20) / (4 * vocab))));
}

/** Positions of the KV cache a load allocates: the requested context (default 2048), at most the model's. */
export function contextTokens(config: ModelConfig, requested?: number): number {
  return Math.min(requested ?? DEFAULT_CONTEXT, config.maxPositions);
}

function engineInfo(gpu: Gpu, c: ModelConfig, w: ModelWeights, contextLength: number, rows: number): EngineInfo {
  return {
    architecture: c.hfArchitecture,
    layers: c.layers,
    hidden: c.hidden,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    vocab: c.vocab,
    contextLength,
    ...(c.moe ? { experts: c.moe.experts, expertsPerToken: c.moe.expertsPerToken } : {}),
    params: parameterCount(c),
    dtype: w.format,
    maxDraftLength: maxDraftLength(rows),
    ...(c.selfSpeculative?.adapters.length ? { draftAdapters: c.selfSpeculative.adapters.map((a) => a.exitLayer) } : {}),
    ...(c.selfSpeculative?.draftVocabSize ? { draftVocabSize: c.selfSpeculative.draftVocabSize } : {}),
    adapter: { description: gpu.adapter.description, isSoftware: gpu.adapter.isSoftware, features: gpu.adapter.features, limits: gpu.adapter.limits },
  };
}
