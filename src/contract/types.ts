/** The public contract: the same Engine in a Web Worker, in-thread, and in Node. */
export type * from './chat_types';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from './chat_types';

export type Strategy =
  | { kind: 'greedy' }
  | { kind: 'sample'; temperature?: number; topK?: number; topP?: number; minP?: number; seed?: number }
  | {
      kind: 'self-speculative';
      /** layers used to draft (1..layers), or 'auto' = DEL-style choice from tracked acceptance */
      exitLayer?: 'auto' | number;
      /** max drafts per round, or 'auto' */
      draftLength?: 'auto' | number;
      /** Kangaroo's second exit: stop drafting when the draft's top-1 probability < this (0 = never) */
      confidenceThreshold?: number;
      /** sampling parameters; absent = greedy */
      sampling?: { temperature?: number; topK?: number; topP?: number; minP?: number; seed?: number };
      /**
       * where drafts come from: 'exit' = the first layers + the final norm and head; 'adapter' = the first layers +
       * the model's Kangaroo adapter at that exit (EngineInfo.draftAdapters); 'auto' (default) = DEL weighs both when
       * the exit layer or draft length is 'auto', else the adapter where the pinned exit has one; 'sparse' (Sirius) = the
       * activation-sparse model drafts (needs `sparsity` at load), and 'auto' weighs it too when the model has one
       */
      draftSource?: 'auto' | 'exit' | 'adapter' | 'sparse';
    }
  | {
      kind: 'superposed';
      /** number of drafts k (default 3) */
      drafts?: number;
      /** n-gram interpolation weight alpha (default 0.54) */
      ngramWeight?: number;
      /** superposition temperature (default 0.06) */
      temperature?: number;
      /** candidates per draft (default 9) */
      tokensPerDraft?: number;
    };

export interface GenerateRequest {
  prompt: string | number[];
  maxTokens?: number;
  /** default: the model's generation_config.json sampling (do_sample), else greedy */
  strategy?: Strategy;
  /** stop when any of these strings appears in the generated text */
  stop?: string[];
  /** stop at the model's EOS tokens (default true) */
  stopAtEos?: boolean;
  signal?: AbortSignal;
  /**
   * Sampling controls, applied on the GPU to the logits before greedy or sampled choice (greedy and sample
   * strategies). OpenAI semantics: a token's logit loses frequencyPenalty × (times it was generated), and
   * presencePenalty once it was generated at all (-2..2; the prompt does not count).
   */
  frequencyPenalty?: number;
  presencePenalty?: number;
  /**
   * Hugging Face / llama.cpp repetition penalty over the prompt and the output (every earlier token, no window):
   * a seen token's logit is divided by it when positive, multiplied when negative. 1 = off; > 1 discourages.
   */
  repetitionPenalty?: number;
  /** token id -> bias added to its logit (-100..100; -100 in effect bans, 100 forces) */
  logitBias?: Record<number, number>;
  /**
   * Report each generated token's log-probability, and the `topLogprobs` (0..20) most likely alternatives:
   * log-softmax of the logits after penalties, bias and constraints, at temperature 1.
   */
  logprobs?: boolean;
  topLogprobs?: number;
  /** constrain the output to JSON (any object) or to a JSON schema (see ResponseFormat) */
  responseFormat?: ResponseFormat;
}

/**
 * Constrained output, OpenAI's `response_format`. 'json_schema' takes the structured-outputs subset of JSON
 * Schema: type object (properties, required, additionalProperties false), array (items, minItems, maxItems),
 * string (enum, minLength, maxLength), number, integer, boolean, null, enum, const, anyOf, type lists.
 * Output JSON is compact (no whitespace between tokens of the syntax).
 */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null; description?: string } }
  /** extension: a GBNF grammar as llama.cpp writes it (its `root` rule; subset in src/decode/constraints/gbnf.ts) */
  | { type: 'grammar'; grammar: string }
  /** extension: a regular expression the whole output matches (syntax in src/decode/constraints/regex.ts) */
  | { type: 'regex'; regex: string };

/** A generated token's log-probability and its most likely alternatives (ids). */
export interface TokenLogprob {
  token: number;
  logprob: number;
  top: { token: number; logprob: number }[];
}

export interface DraftView {
  tokens: number[];
  text: string;
  score: number;
}

/** Per-token provenance for speculative runs: 'accepted' draft, 'corrected' or 'bonus' token from the verifier. */
export type TokenOrigin = 'plain' | 'accepted' | 'corrected' | 'bonus';

export type GenerateEvent =
  | { type: 'tokens'; tokens: number[]; text: string; origins?: TokenOrigin[]; round?: RoundInfo; logprobs?: TokenLogprob[] }
  | { type: 'drafts'; drafts: DraftView[] }
  | { type: 'done'; result: GenerateResult };

/** One speculative round, for live charts. */
export interface RoundInfo {
  exitLayer: number;
  /** the drafts came from the exit layer's Kangaroo adapter */
  adapter?: true;
  drafted: number;
  accepted: number;
}

/** DEL's decision for one self-speculative round with 'auto' settings (the cost model of decode/exit_policy.ts). */
export interface DelDecision {
  /** what the round does: draft (then verify), or decode one plain step */
  verdict: 'draft' | 'plain';
  /** the round runs the alternative to DEL's choice, as every 16th does, to keep both timings current */
  probe: boolean;
  exitLayer: number;
  draftLength: number;
  /** the round drafts with the exit layer's Kangaroo adapter */
  adapter?: true;
  /** the round drafts with the activation-sparse model (Sirius) */
  sparse?: true;
  /** estimated acceptance rate of drafts from each exit layer (index = layer; 0 unused) */
  acceptance: number[];
  /** the same for each exit layer's Kangaroo adapter, by exit layer (models with adapters) */
  adapterAcceptance?: Record<number, number>;
  /** ρ, the cost of each verified row beyond the first as a fraction of a one-row pass: near 0 on GPUs, near 1 on CPU adapters */
  rowCost: number;
  /** the best drafting round and its expected tokens per layer over plain decoding's (above 1: drafting pays) */
  bestDraft: { exitLayer: number; draftLength: number; adapter?: true; gain: number };
  /** drafting could not beat plain decoding on this adapter even if every draft were accepted */
  draftingCannotWin: boolean;
}

export interface GenerateStats {
  prefillTokens: number;
  /** constrained decoding: masks computed on the CPU (one per token) and their total CPU time, overlapped with the GPU's forward passes */
  constraintMasks?: number;
  constraintMaskMs?: number;
  /** prompt tokens whose KV cache was kept from the previous request (prefix reuse): not prefilled again */
  cachedTokens?: number;
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
  forwardPasses: number;
  /** speculative strategies */
  drafted?: number;
  accepted?: number;
  /** exit layer -> { drafted, accepted } */
  acceptanceByExitLayer?: Record<number, { drafted: number; accepted: number }>;
  /** self-speculative: drafted and accepted tokens per draft source ('exit', 'adapter', 'sparse') */
  acceptanceBySource?: Record<string, { drafted: number; accepted: number }>;
  /** self-speculative with 'auto': DEL's decision for the last round, and the tokens emitted under each verdict */
  delDecision?: DelDecision;
  /** `adapter`: the part of `draft` from rounds that drafted with a Kangaroo adapter (models with adapters) */
  tokensByVerdict?: { draft: number; plain: number; adapter?: number };
  /** self-speculative drafts from Kangaroo adapters, by exit layer (acceptanceByExitLayer counts the plain exits' drafts) */
  acceptanceByAdapter?: Record<number, { drafted: number; accepted: number }>;
  /**
   * superposed decoding: 'used' when an n-gram table scored the drafts with the model, 'missing' when none was
   * found (EngineOptions.ngrams, `ngrams.bin` in the model folder, or `../ngrams-bpe<vocab>.bin`: the model alone
   * then scores them), 'off' with ngramWeight 0
   */
  ngrams?: 'used' | 'missing' | 'off';
  /** MoE with maxResidentExperts: experts found on the GPU, uploaded on demand, and uploaded ahead of need */
  expertCacheHits?: number;
  expertCacheMisses?: number;
  expertPrefetches?: number;
  /** bytes of expert weights copied from CPU memory to the GPU (misses and prefetches) */
  expertUploadBytes?: number;
  /** fraction of MLP neurons skipped by activation sparsity */
  mlpSparsity?: number;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  drafts?: DraftView[];
  /** with request.logprobs: one entry per token of `tokens` */
  logprobs?: TokenLogprob[];
  finishReason: 'length' | 'eos' | 'stop' | 'aborted';
  aborted: boolean;
  stats: GenerateStats;
}

export interface LoadProgress {
  /**
   * 'download': weight files arriving over the network (browser, URL models), before 'weights' uploads them;
   * 'compile': the GPU state besides the weights (KV cache, activations, the MLP variant), after 'weights'
   */
  phase: 'download' | 'config' | 'tokenizer' | 'weights' | 'compile' | 'ready';
  loadedBytes: number;
  /** 0 while the total is unknown (a server that sends no Content-Length, or compresses): show indeterminate progress */
  totalBytes: number;
  file?: string;
  /** something the user should know that does not stop loading, e.g. the Cache API refused to store a file */
  warning?: string;
}

export interface EngineOptions {
  /**
   * A hub repository id (`owner/name`), the URL of a Hugging Face model folder (browser and Node), a directory path
   * (Node), or dropped files (browser). In the browser, write a folder URL with a scheme, a leading '/' or './', or
   * a trailing '/'; in Node an existing directory wins over a hub id.
   */
  model: string | File[];
  /** hub ids: the branch, tag or commit to load (default 'main') */
  revision?: string;
  /** hub ids: the hub's base URL (default the public Hugging Face hub; mirrors, self-hosting) */
  hubBase?: string;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** weight storage: keep the checkpoint's precision, or quantize on load */
  quantize?: 'q8' | 'q4';
  /** maximum context (tokens); default min(config max positions, 2048) */
  contextLength?: number;
  /**
   * MoE: experts per layer given GPU memory (at least experts per token). The others are loaded into CPU
   * memory only and stream in on demand; outputs are unchanged. Default: every expert on the GPU.
   */
  maxResidentExperts?: number;
  /**
   * With maxResidentExperts: upload the next layer's experts ahead of need, predicted by its router on the
   * current hidden state (default true). Ignored without maxResidentExperts.
   */
  prefetchExperts?: boolean;
  /**
   * scan every weight for NaN and infinity while it streams to the GPU; one gives a ModelFormatError naming the
   * tensor (default true; false skips the scan, and non-finite logits then end a generation with NonFiniteError)
   */
  scanWeights?: boolean;
  /** activation sparsity: fraction of MLP neurons skipped */
  sparsity?: { mlp: number };
  /**
   * n-gram table for superposed decoding, a file name relative to the model folder, checked while loading. Without
   * it, `ngrams.bin` in the folder or `../ngrams-bpe<vocab>.bin` beside it is looked for when superposed decoding
   * first runs; `stats.ngrams` says whether one was used.
   */
  ngrams?: string;
  /** collect per-kernel GPU time with timestamp queries */
  profile?: boolean;
  /** browser only: run in the calling thread instead of a Worker */
  worker?: boolean;
  /** URL models: a download with no bytes for this long fails with NetworkError (default 30000 ms) */
  stallTimeoutMs?: number;
  /** browser only: cache downloaded files with the Cache API (default true) */
  cache?: boolean;
  /** browser only: file name -> hex SHA-256; a download that does not match is rejected (ModelFormatError) */
  expectedSha256?: Record<string, string>;
}

export interface EngineInfo {
  architecture: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  contextLength: number;
  experts?: number;
  expertsPerToken?: number;
  params: number;
  dtype: string;
  /** longest self-speculative draftLength this engine verifies (its verify rows stay bitwise equal to single rows) */
  maxDraftLength: number;
  /** exit layers with a Kangaroo draft adapter (config.json `self_speculative`); absent without one */
  draftAdapters?: number[];
  adapter: { description: string; isSoftware: boolean; features: string[]; limits: Record<string, number> };
}

export interface Engine {
  readonly info: EngineInfo;
  generate(request: GenerateRequest): AsyncIterable<GenerateEvent>;
  complete(request: GenerateRequest): Promise<GenerateResult>;
  /** full-model logits at every position: Float32Array [ids.length * vocab] */
  logits(ids: number[]): Promise<Float32Array>;
  tokenize(text: string): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** dispatches per step, layer and kernel, with GPU, encode and readback-wait time (requires `profile: true`) */
  kernelProfile(): Promise<KernelProfile>;
  chat: {
    completions: {
      create(request: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
      create(request: ChatCompletionRequest & { stream?: false }): Promise<ChatCompletion>;
    };
  };
  /**
   * Forget the KV cache kept from earlier requests. Each request reuses the cache of the previous one for their
   * shared token prefix (a chat's earlier turns), with identical outputs; this gives the next request a cold start.
   */
  resetCache(): Promise<void>;
  /** loads the same model again on a fresh GPU device: the way back after a DeviceLostError */
  reload(): Promise<void>;
  dispose(): Promise<void>;
}

/** GPU time of one kernel over a profiled run: `ms` is null where the adapter offers no timestamp queries. */
export interface KernelTime {
  kernel: string;
  ms: number | null;
  count: number;
}

/**
 * The steps of one shape (the same kernels, the same number of times each) over a profiled run. A greedy decode
 * step is one shape; prefill chunks, verify passes and sampling steps are others.
 */
export interface StepShape {
  /** dispatches in one step of this shape */
  dispatches: number;
  /** steps of this shape that were submitted */
  steps: number;
  /** per kernel: dispatches in one step, how they split into the model's layers, and their mean GPU milliseconds per step */
  kernels: { kernel: string; perStep: number; perLayer: number; outsideLayers: number; gpuMs: number | null }[];
  /** dispatches per layer: the kernels' perLayer summed */
  perLayer: number;
  /** dispatches outside the layers (embedding, head, token choice): the kernels' outsideLayers summed */
  outsideLayers: number;
  /** median CPU milliseconds to record the step's dispatches, finish its encoder and submit it */
  encodeMs: number;
  /** median milliseconds from submit until the step's readbacks are mapped (GPU work plus the round trip) */
  readbackWaitMs: number;
  /** median GPU milliseconds of the step's passes; null without timestamp queries */
  gpuMs: number | null;
}

/** What `engine.kernelProfile()` answers: per kernel and per step shape, over the most recent few thousand steps. */
export interface KernelProfile {
  /** whether the adapter offers timestamp queries (GPU times are null without) */
  timestamps: boolean;
  /** the model's layer count, which the per-layer figures divide by */
  layers: number;
  /** largest GPU time first (by count without timestamps) */
  kernels: KernelTime[];
  /** most frequent shape first */
  steps: StepShape[];
}
