/** Request checks run before a request reaches the GPU; each failure names the field at fault. */
import { ContextLengthError, InvalidRequestError } from './errors';
import type { ChatCompletionRequest, EngineInfo, EngineOptions, GenerateRequest, Strategy } from './types';

/** What a request is checked against: the loaded model's sizes and what this engine can run on its device. */
type Limits = Pick<EngineInfo, 'vocab' | 'contextLength' | 'layers' | 'maxDraftLength' | 'draftAdapters'>;

/** Superposed drafts and candidates per draft: the top-n kernel keeps at most this many (shaders/decode/top_n.wgsl MAX_N). */
export const MAX_SUPERPOSED_CANDIDATES = 16;

function fail(field: string, message: string, value?: unknown): never {
  throw new InvalidRequestError(`${field}: ${message}`, { field, value: describe(value) });
}

function describe(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.length > 80) return `${value.slice(0, 80)}…`;
  if (Array.isArray(value)) return `array of ${value.length}`;
  // objects and functions are named, not copied: details must stay plain data that crosses threads
  return typeof value === 'object' && value !== null ? 'object' : typeof value === 'function' ? 'function' : value;
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function checkRange(field: string, v: unknown, min: number, max: number, integer: boolean): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || Number.isNaN(v) || (integer && !Number.isInteger(v))) {
    fail(field, `must be ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`, v);
  }
  if (v < min || v > max) fail(field, `must be in [${min}, ${max}], got ${v}`, v);
}

function checkBoolean(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') fail(field, 'must be a boolean', v);
}

/** Token ids must be integers inside the vocabulary. */
export function validateTokenIds(field: string, ids: unknown, limits: Pick<Limits, 'vocab'>): void {
  if (!Array.isArray(ids)) fail(field, 'must be an array of token ids', ids);
  // an index loop, not forEach: a hole ([1, , 3]) must be refused, not skipped
  for (let i = 0; i < ids.length; i++) {
    const id: unknown = ids[i];
    if (!isInteger(id) || id < 0 || id >= limits.vocab) {
      throw new InvalidRequestError(`${field}[${i}]: token id ${String(id)} is outside the vocabulary [0, ${limits.vocab})`, { field, index: i, value: describe(id) });
    }
  }
}

/** A prompt is non-empty text, or non-empty in-vocabulary token ids that leave room in the context. */
export function validatePrompt(field: string, prompt: unknown, limits: Pick<Limits, 'vocab' | 'contextLength'>): void {
  if (typeof prompt === 'string') {
    if (prompt.length === 0) fail(field, 'is empty');
    return;
  }
  if (!Array.isArray(prompt)) fail(field, 'must be a string or an array of token ids', prompt);
  if (prompt.length === 0) fail(field, 'is empty');
  validateTokenIds(field, prompt, limits);
  if (prompt.length >= limits.contextLength) {
    throw new ContextLengthError(`${field}: ${prompt.length} tokens do not fit the context of ${limits.contextLength} tokens`, {
      field, promptTokens: prompt.length, contextLength: limits.contextLength,
    });
  }
}

function validateSampling(prefix: string, s: { temperature?: unknown; topK?: unknown; topP?: unknown; minP?: unknown; seed?: unknown }, limits: Limits): void {
  checkRange(`${prefix}.temperature`, s.temperature, 0, 100, false);
  checkRange(`${prefix}.topK`, s.topK, 0, limits.vocab, true);
  checkRange(`${prefix}.topP`, s.topP, Number.MIN_VALUE, 1, false);
  checkRange(`${prefix}.minP`, s.minP, 0, 1, false);
  checkRange(`${prefix}.seed`, s.seed, 0, Number.MAX_SAFE_INTEGER, true);
}

function validateStrategy(strategy: Strategy | undefined, limits: Limits): void {
  if (strategy === undefined) return;
  if (typeof strategy !== 'object' || strategy === null) fail('strategy', 'must be an object with a kind', strategy);
  switch (strategy.kind) {
    case 'greedy':
      return;
    case 'sample':
      return validateSampling('strategy', strategy, limits);
    case 'self-speculative':
      if (strategy.exitLayer !== 'auto') checkRange('strategy.exitLayer', strategy.exitLayer, 1, limits.layers, true);
      if (strategy.draftLength !== 'auto') checkRange('strategy.draftLength', strategy.draftLength, 1, limits.maxDraftLength, true);
      checkRange('strategy.confidenceThreshold', strategy.confidenceThreshold, 0, 1, false);
      if (strategy.sampling !== undefined) validateSampling('strategy.sampling', strategy.sampling, limits);
      return validateDraftSource(strategy, limits);
    case 'superposed':
      checkRange('strategy.drafts', strategy.drafts, 1, MAX_SUPERPOSED_CANDIDATES, true);
      checkRange('strategy.ngramWeight', strategy.ngramWeight, 0, 1, false);
      checkRange('strategy.temperature', strategy.temperature, Number.MIN_VALUE, 100, false);
      checkRange('strategy.tokensPerDraft', strategy.tokensPerDraft, 1, Math.min(MAX_SUPERPOSED_CANDIDATES, limits.vocab), true);
      return;
    default:
      fail('strategy.kind', `unknown strategy "${String((strategy as { kind: unknown }).kind)}" (expected greedy, sample, self-speculative or superposed)`, (strategy as { kind: unknown }).kind);
  }
}

/** 'adapter' needs a Kangaroo adapter, at the exit layer when that is pinned; draftVocab is a boolean. */
function validateDraftSource({ draftSource, exitLayer, draftVocab }: Extract<Strategy, { kind: 'self-speculative' }>, limits: Limits): void {
  if (draftVocab !== undefined && typeof draftVocab !== 'boolean') fail('strategy.draftVocab', `must be a boolean, got ${describe(draftVocab)}`, draftVocab);
  if (draftSource === undefined) return;
  if (!['auto', 'exit', 'adapter', 'sparse'].includes(draftSource)) fail('strategy.draftSource', `must be 'auto', 'exit', 'adapter' or 'sparse', got ${describe(draftSource)}`, draftSource);
  if (draftSource !== 'adapter') return;
  const exits = limits.draftAdapters ?? [];
  if (exits.length === 0) fail('strategy.draftSource', "'adapter' needs a model with a Kangaroo adapter (config.json self_speculative); this one has none", draftSource);
  if (typeof exitLayer === 'number' && !exits.includes(exitLayer)) fail('strategy.exitLayer', `${exitLayer} has no Kangaroo adapter (adapters at exit layers ${exits.join(', ')})`, exitLayer);
}

function validateStop(stop: unknown): void {
  if (stop === undefined) return;
  if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string' || s.length === 0)) {
    fail('stop', 'must be an array of non-empty strings', stop);
  }
}

/** Most alternatives per position that logprobs report (OpenAI's top_logprobs limit; MAX_TOP_LOGPROBS in the kernel). */
export const MAX_TOP_LOGPROBS = 20;

/** Token id -> bias: ids in the vocabulary, biases in OpenAI's [-100, 100]. */
function validateLogitBias(field: string, bias: unknown, limits: Limits): void {
  if (bias === undefined) return;
  if (typeof bias !== 'object' || bias === null || Array.isArray(bias)) fail(field, 'must map token ids to biases', bias);
  for (const [id, b] of Object.entries(bias)) {
    if (!/^(0|[1-9][0-9]*)$/.test(id) || Number(id) >= limits.vocab) fail(`${field}.${id}`, `is not a token id in the vocabulary [0, ${limits.vocab})`, id);
    checkRange(`${field}.${id}`, b, -100, 100, false);
  }
}

/** Longest grammar or regex source a request may send. */
export const MAX_GRAMMAR_CHARS = 100_000;

function validateResponseFormat(field: string, format: unknown): void {
  if (format === undefined) return;
  const f = format as { type?: unknown; json_schema?: { name?: unknown; schema?: unknown }; grammar?: unknown; regex?: unknown } | null;
  if (typeof f !== 'object' || f === null) fail(field, "must be an object { type: 'text' | 'json_object' | 'json_schema' | 'grammar' | 'regex' }", format);
  if (f.type === 'text' || f.type === 'json_object') return;
  if (f.type === 'grammar' || f.type === 'regex') {
    const text = f[f.type];
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_GRAMMAR_CHARS) fail(`${field}.${f.type}`, `must be a non-empty string of at most ${MAX_GRAMMAR_CHARS} characters`, text);
    return;
  }
  if (f.type !== 'json_schema') fail(`${field}.type`, "must be 'text', 'json_object', 'json_schema', 'grammar' or 'regex'", f.type);
  if (typeof f.json_schema !== 'object' || f.json_schema === null) fail(`${field}.json_schema`, 'must be an object { name, schema }', f.json_schema);
  if (typeof f.json_schema.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(f.json_schema.name)) fail(`${field}.json_schema.name`, 'must be 1-64 letters, digits, _ or -', f.json_schema.name);
  const schema = f.json_schema.schema;
  if (schema !== undefined && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) fail(`${field}.json_schema.schema`, 'must be a JSON Schema object', schema);
}

/** The options that the logit controls serve: greedy and sample strategies only (responseFormat composes with every strategy). */
const CONTROL_FIELDS = ['frequencyPenalty', 'presencePenalty', 'repetitionPenalty', 'logitBias', 'logprobs'] as const;

/** The names of the sampling controls in one API: generate()'s camelCase or OpenAI's snake_case. */
interface ControlNames { frequency: string; presence: string; repetition: string; bias: string; logprobs: string; topLogprobs: string; format: string }

const GENERATE_CONTROLS: ControlNames = {
  frequency: 'frequencyPenalty', presence: 'presencePenalty', repetition: 'repetitionPenalty', bias: 'logitBias',
  logprobs: 'logprobs', topLogprobs: 'topLogprobs', format: 'responseFormat',
};
const CHAT_CONTROLS: ControlNames = {
  frequency: 'frequency_penalty', presence: 'presence_penalty', repetition: 'repetition_penalty', bias: 'logit_bias',
  logprobs: 'logprobs', topLogprobs: 'top_logprobs', format: 'response_format',
};

/** One set of limits for the sampling controls, whichever API names them. */
function checkControlValues(request: object, n: ControlNames, limits: Limits): void {
  const v = request as Record<string, unknown>;
  checkRange(n.frequency, v[n.frequency], -2, 2, false);
  checkRange(n.presence, v[n.presence], -2, 2, false);
  checkRange(n.repetition, v[n.repetition], Number.MIN_VALUE, 100, false);
  validateLogitBias(n.bias, v[n.bias], limits);
  checkBoolean(n.logprobs, v[n.logprobs]);
  checkRange(n.topLogprobs, v[n.topLogprobs], 0, MAX_TOP_LOGPROBS, true);
  if (v[n.topLogprobs] !== undefined && v[n.logprobs] !== true) fail(n.topLogprobs, 'needs logprobs: true', v[n.topLogprobs]);
  validateResponseFormat(n.format, v[n.format]);
}

function validateControls(request: GenerateRequest, limits: Limits): void {
  checkControlValues(request, GENERATE_CONTROLS, limits);
  const kind = request.strategy?.kind ?? 'greedy';
  if (kind === 'greedy' || kind === 'sample') return;
  const used = CONTROL_FIELDS.find((f) => request[f] !== undefined);
  if (used) fail(used, `is supported with the greedy and sample strategies, not ${kind}`, kind);
}

/** Throws InvalidRequestError / ContextLengthError for a request the engine must refuse. */
export function validateRequest(request: GenerateRequest, limits: Limits): void {
  if (typeof request !== 'object' || request === null) fail('request', 'must be an object', request);
  validatePrompt('prompt', request.prompt, limits);
  checkRange('maxTokens', request.maxTokens, 1, limits.contextLength, true);
  validateStrategy(request.strategy, limits);
  validateStop(request.stop);
  checkBoolean('stopAtEos', request.stopAtEos);
  validateControls(request, limits);
}

function validateModel(model: unknown): void {
  const valid = (typeof model === 'string' && model.length > 0)
    || (Array.isArray(model) && model.length > 0 && model.every((f) => typeof f === 'object' && f !== null && 'name' in f));
  if (!valid) fail('model', 'expected a hub id, a URL or directory path, or a non-empty list of files', model);
}

function checkNonEmptyString(field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) fail(field, 'must be a non-empty string', value);
}

function validateSparsity(sparsity: unknown): void {
  if (sparsity === undefined) return;
  if (typeof sparsity !== 'object' || sparsity === null) fail('sparsity', 'must be an object { mlp }', sparsity);
  const { mlp } = sparsity as { mlp?: unknown };
  if (mlp === undefined) fail('sparsity.mlp', 'is required (the fraction of MLP neurons to skip)');
  checkRange('sparsity.mlp', mlp, 0, 1, false);
  if (mlp === 1) fail('sparsity.mlp', 'must be below 1 (1 would skip every neuron)', mlp);
}

/** Shape, not class: a signal from another realm (an iframe's AbortController) is as good. */
function validateSignal(signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as { aborted?: unknown; addEventListener?: unknown } | null;
  if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') fail('signal', 'must be an AbortSignal', signal);
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

function validateSha256(expected: unknown): void {
  if (expected === undefined) return;
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) fail('expectedSha256', 'must map file names to SHA-256 hex digests', expected);
  for (const [file, digest] of Object.entries(expected)) {
    if (typeof digest !== 'string' || !SHA256_HEX.test(digest)) fail(`expectedSha256.${file}`, 'must be 64 hexadecimal digits', digest);
  }
}

/** Checks the engine options that need no model to judge (the runtime checks the rest against the config). */
export function validateEngineOptions(options: EngineOptions): void {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object', options);
  validateModel(options.model);
  checkNonEmptyString('revision', options.revision);
  checkNonEmptyString('hubBase', options.hubBase);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') fail('onProgress', 'must be a function', options.onProgress);
  validateSignal(options.signal);
  if (options.quantize !== undefined && options.quantize !== 'q8' && options.quantize !== 'q4') fail('quantize', `must be 'q8' or 'q4', got ${describe(options.quantize)}`, options.quantize);
  checkRange('contextLength', options.contextLength, 1, Number.MAX_SAFE_INTEGER, true);
  checkRange('maxResidentExperts', options.maxResidentExperts, 1, Number.MAX_SAFE_INTEGER, true);
  checkBoolean('prefetchExperts', options.prefetchExperts);
  checkBoolean('scanWeights', options.scanWeights);
  validateSparsity(options.sparsity);
  checkNonEmptyString('ngrams', options.ngrams);
  checkBoolean('profile', options.profile);
  checkBoolean('worker', options.worker);
  checkBoolean('cache', options.cache);
  checkRange('stallTimeoutMs', options.stallTimeoutMs, 1, 2 ** 31 - 1, false);
  validateSha256(options.expectedSha256);
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function validateMessage(m: unknown, i: number): void {
  const msg = m as { role?: unknown; content?: unknown; tool_calls?: unknown; tool_call_id?: unknown } | null;
  if (typeof msg !== 'object' || msg === null || !ROLES.has(msg.role as string)) fail(`messages[${i}].role`, 'must be system, user, assistant or tool', msg?.role);
  const calls = msg.tool_calls;
  if (calls !== undefined) {
    if (msg.role !== 'assistant') fail(`messages[${i}].tool_calls`, 'belong to assistant messages', calls);
    if (!Array.isArray(calls) || calls.some((c) => typeof c?.function?.name !== 'string')) fail(`messages[${i}].tool_calls`, 'must be an array of { id, type, function: { name, arguments } }', calls);
  }
  const contentOptional = msg.role === 'assistant' && calls !== undefined;
  if (typeof msg.content !== 'string' && !(contentOptional && (msg.content === null || msg.content === undefined))) fail(`messages[${i}].content`, 'must be a string', msg.content);
  if (msg.role === 'tool' && typeof msg.tool_call_id !== 'string') fail(`messages[${i}].tool_call_id`, 'must name the call this tool result answers', msg.tool_call_id);
}

/** tools: OpenAI function tools with distinct names; tool_choice names one of them (the schema is checked when it compiles). */
function validateTools(request: ChatCompletionRequest): void {
  const { tools, tool_choice: choice } = request;
  if (tools !== undefined) {
    if (!Array.isArray(tools) || tools.length === 0) fail('tools', 'must be a non-empty array', tools);
    const names = new Set<string>();
    tools.forEach((t, i) => {
      if (t?.type !== 'function' || typeof t.function !== 'object' || t.function === null) fail(`tools[${i}]`, "must be { type: 'function', function: { name, parameters } }", t);
      if (typeof t.function.name !== 'string' || !FUNCTION_NAME.test(t.function.name) || names.has(t.function.name)) fail(`tools[${i}].function.name`, 'must be a distinct name of 1-64 letters, digits, _ or -', t.function.name);
      names.add(t.function.name);
      const p = t.function.parameters;
      if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) fail(`tools[${i}].function.parameters`, 'must be a JSON Schema object', p);
    });
  }
  if (choice === undefined) return;
  if (tools === undefined) fail('tool_choice', 'needs tools', choice);
  if (typeof choice === 'object' && choice !== null) {
    if (choice.type !== 'function' || !tools.some((t) => t.function.name === choice.function?.name)) fail('tool_choice.function.name', 'must name one of the tools', choice.function?.name);
  } else if (choice !== 'none' && choice !== 'auto' && choice !== 'required') fail('tool_choice', "must be 'none', 'auto', 'required' or { type: 'function', function: { name } }", choice);
  if ((choice === 'required' || typeof choice === 'object') && request.response_format !== undefined && request.response_format.type !== 'text') {
    fail('response_format', 'cannot be combined with a tool_choice that forces a call (the call is the format)', request.response_format.type);
  }
}

/** Checks an OpenAI-shaped chat request's fields (snake_case names as the caller wrote them). */
export function validateChatRequest(request: ChatCompletionRequest, limits: Limits): void {
  if (typeof request !== 'object' || request === null) fail('request', 'must be an object', request);
  if (!Array.isArray(request.messages) || request.messages.length === 0) fail('messages', 'must be a non-empty array', request.messages);
  request.messages.forEach(validateMessage);
  validateTools(request);
  checkRange('max_tokens', request.max_tokens, 1, limits.contextLength, true);
  checkRange('temperature', request.temperature, 0, 2, false);
  checkRange('top_p', request.top_p, Number.MIN_VALUE, 1, false);
  checkRange('min_p', request.min_p, 0, 1, false);
  checkRange('seed', request.seed, 0, Number.MAX_SAFE_INTEGER, true);
  if (request.stop !== undefined) validateStop(typeof request.stop === 'string' ? [request.stop] : request.stop);
  checkRange('max_completion_tokens', request.max_completion_tokens, 1, limits.contextLength, true);
  checkRange('n', request.n, 1, MAX_CHOICES, true);
  checkControlValues(request, CHAT_CONTROLS, limits);
  if (request.strategy !== undefined) {
    validateStrategy(request.strategy, limits);
    const clash = (['temperature', 'top_p', 'min_p', 'seed'] as const).find((k) => request[k] !== undefined);
    if (clash) fail(clash, 'cannot be combined with strategy (set the sampling inside the strategy)', request[clash]);
  }
  const unknown = Object.keys(request).find((k) => !CHAT_FIELDS.has(k));
  if (unknown !== undefined) fail(unknown, 'is not supported', (request as unknown as Record<string, unknown>)[unknown]);
}

/** Most choices one chat request may ask for (they are generated one after another). */
export const MAX_CHOICES = 16;

/** The chat request fields the engine acts on; any other is refused by name, never ignored. `model` names the loaded model. */
const CHAT_FIELDS: ReadonlySet<string> = new Set([
  'messages', 'model', 'stream', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'seed', 'stop', 'n', 'frequency_penalty',
  'presence_penalty', 'repetition_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'response_format', 'tools', 'tool_choice', 'signal',
  'min_p', 'strategy',
] satisfies (keyof ChatCompletionRequest | 'model')[] as string[]);

/**
 * True for a hub repository id, `owner/name` (letters, digits, '-', '_', '.'; no '..'). Folder paths and URLs are
 * written otherwise: with a scheme, a leading '/' or './', or a trailing '/'.
 */
export function isHubId(model: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(model) && !model.includes('..');
}
