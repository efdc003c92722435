/** The public contract: the same Engine in a Web Worker, in-thread, and in Node. */

export type Strategy =
  | { kind: 'greedy' }
  | { kind: 'sample'; temperature?: number; topK?: number; topP?: number; seed?: number }
  | {
      kind: 'self-speculative';
      /** layers used to draft (1..layers), or 'auto' = DEL-style choice from tracked acceptance */
      exitLayer?: 'auto' | number;
      /** max drafts per round, or 'auto' */
      draftLength?: 'auto' | number;
      /** Kangaroo's second exit: stop drafting when the draft's top-1 probability < this (0 = never) */
      confidenceThreshold?: number;
      /** sampling parameters; absent = greedy */
      sampling?: { temperature?: number; topK?: number; topP?: number; seed?: number };
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
}

export interface DraftView {
  tokens: number[];
  text: string;
  score: number;
}

/** Per-token provenance for speculative runs: 'accepted' draft, 'corrected' or 'bonus' token from the verifier. */
export type TokenOrigin = 'plain' | 'accepted' | 'corrected' | 'bonus';

export type GenerateEvent =
  | { type: 'tokens'; tokens: number[]; text: string; origins?: TokenOrigin[]; round?: RoundInfo }
  | { type: 'drafts'; drafts: DraftView[] }
  | { type: 'done'; result: GenerateResult };

/** One speculative round, for live charts. */
export interface RoundInfo {
  exitLayer: number;
  drafted: number;
  accepted: number;
}

export interface GenerateStats {
  prefillTokens: number;
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
  forwardPasses: number;
  /** speculative strategies */
  drafted?: number;
  accepted?: number;
  /** exit layer -> { drafted, accepted } */
  acceptanceByExitLayer?: Record<number, { drafted: number; accepted: number }>;
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
  /** n-gram table for superposed decoding (default: `ngrams.bin` in the model folder when present) */
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
  adapter: { description: string; isSoftware: boolean; features: string[]; limits: Record<string, number> };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatCompletionRequest {
  messages: ChatMessage[];
  stream?: boolean;
  max_tokens?: number;
  /** with none of temperature, top_p, seed: the model's generation_config.json sampling, else greedy */
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[];
  signal?: AbortSignal;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: 0; message: { role: 'assistant'; content: string }; finish_reason: 'stop' | 'length' }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: 'stop' | 'length' | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface Engine {
  readonly info: EngineInfo;
  generate(request: GenerateRequest): AsyncIterable<GenerateEvent>;
  complete(request: GenerateRequest): Promise<GenerateResult>;
  /** full-model logits at every position: Float32Array [ids.length * vocab] */
  logits(ids: number[]): Promise<Float32Array>;
  tokenize(text: string): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** per-kernel GPU time (requires `profile: true`) */
  kernelProfile(): Promise<{ kernel: string; ms: number; count: number }[]>;
  chat: {
    completions: {
      create(request: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
      create(request: ChatCompletionRequest & { stream?: false }): Promise<ChatCompletion>;
    };
  };
  /** loads the same model again on a fresh GPU device: the way back after a DeviceLostError */
  reload(): Promise<void>;
  dispose(): Promise<void>;
}
