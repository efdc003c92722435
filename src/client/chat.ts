/** `engine.chat.completions.create`: the OpenAI chat shape on top of the chat template and generate(). */
import { InferError } from '../contract/errors';
import { validateChatRequest } from '../contract/validate';
import { forcedCallFormat, offeredTools, parseToolCalls } from './tool_calls';
import { ToolCallStream, type StreamDelta } from './tool_call_stream';
import type {
  ChatAssistantMessage, ChatChoiceLogprobs, ChatTool, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatFinishReason, ChatMessage, ChatUsage, Engine,
  EngineInfo, GenerateEvent, GenerateRequest, GenerateResult, Strategy, TokenLogprob,
} from '../contract/types';

export interface ChatBackend {
  readonly model: string;
  info(): EngineInfo;
  applyChatTemplate(messages: ChatMessage[], tools?: ChatTool[]): Promise<string>;
  detokenize(ids: number[]): Promise<string>;
  generate(request: GenerateRequest): AsyncIterable<GenerateEvent>;
}

type Completions = Engine['chat']['completions'];
/** A chat request once its null fields are dropped. */
type Request = { [K in keyof ChatCompletionRequest]: Exclude<ChatCompletionRequest[K], null> };
type Head = Pick<ChatCompletionChunk, 'id' | 'created' | 'model'>;

/** Default seed of choice i when the request names none: choices differ, and a request replays. */
const DEFAULT_CHAT_SEED = 0x5eed;

/**
 * The request's sampling: undefined (the model's generation_config.json defaults) for a single choice that sets
 * none of temperature, top_p, seed; else OpenAI semantics: temperature defaults to 1; 0 means greedy (the sample
 * strategy takes that limit), and choice i samples with seed + i.
 */
function strategyOf(request: Request, choice: number): Strategy | undefined {
  const s = request.strategy;
  if (s) {
    if (s.kind === 'sample') return { ...s, seed: (s.seed ?? DEFAULT_CHAT_SEED) + choice };
    if (s.kind === 'self-speculative' && s.sampling) return { ...s, sampling: { ...s.sampling, seed: (s.sampling.seed ?? DEFAULT_CHAT_SEED) + choice } };
    return s;
  }
  if (request.temperature === undefined && request.top_p === undefined && request.min_p === undefined && request.seed === undefined && (request.n ?? 1) === 1) return undefined;
  return { kind: 'sample', temperature: request.temperature ?? 1, topP: request.top_p, minP: request.min_p, seed: (request.seed ?? DEFAULT_CHAT_SEED) + choice };
}

/** The GenerateRequest for one choice: OpenAI's names mapped to ours. */
function generateRequest(request: Request, prompt: string, choice: number): GenerateRequest {
  const stop = typeof request.stop === 'string' ? [request.stop] : request.stop;
  const logitBias = request.logit_bias && Object.fromEntries(Object.entries(request.logit_bias).map(([id, b]) => [Number(id), b]));
  return {
    prompt, maxTokens: request.max_completion_tokens ?? request.max_tokens, strategy: strategyOf(request, choice), stop, signal: request.signal,
    frequencyPenalty: request.frequency_penalty, presencePenalty: request.presence_penalty, repetitionPenalty: request.repetition_penalty,
    logitBias, logprobs: request.logprobs, topLogprobs: request.logprobs ? request.top_logprobs : undefined,
    responseFormat: forcedCallFormat(offeredTools(request.tools, request.tool_choice), request.tool_choice) ?? request.response_format,
  };
}

function finishReason(result: GenerateResult, message?: ChatAssistantMessage): ChatFinishReason {
  if (message?.tool_calls) return 'tool_calls';
  return result.finishReason === 'length' ? 'length' : 'stop';
}

/** The reply: tool calls when tools were offered and the text holds calls to them, else the text. */
function assistantMessage(text: string, tools: ChatTool[] | undefined): ChatAssistantMessage {
  const parsed = tools && parseToolCalls(text, tools);
  return parsed ? { role: 'assistant', content: parsed.content, refusal: null, tool_calls: parsed.calls } : { role: 'assistant', content: text, refusal: null };
}

/** Usage over all choices: the prompt counted once, its reused part from the first choice. */
function usageOf(results: GenerateResult[]): ChatUsage {
  const prompt = results[0]?.stats.prefillTokens ?? 0;
  const completion = results.reduce((n, r) => n + r.tokens.length, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: results[0]?.stats.cachedTokens ?? 0 } };
}

/** Token ids in logprobs become their text and UTF-8 bytes, as OpenAI reports them. */
async function chatLogprobs(backend: ChatBackend, logprobs: TokenLogprob[] | undefined): Promise<ChatChoiceLogprobs | null> {
  if (!logprobs) return null;
  const entry = async (token: number, logprob: number) => {
    const text = await backend.detokenize([token]);
    return { token: text, logprob, bytes: Array.from(new TextEncoder().encode(text)) };
  };
  const content = await Promise.all(logprobs.map(async (lp) => ({
    ...(await entry(lp.token, lp.logprob)),
    top_logprobs: await Promise.all(lp.top.map((t) => entry(t.token, t.logprob))),
  })));
  return { content, refusal: null };
}

async function finalResult(events: AsyncIterable<GenerateEvent>): Promise<GenerateResult> {
  for await (const ev of events) if (ev.type === 'done') return ev.result;
  throw new InferError('the generation stream ended without a done event');
}

/**
 * Choices one after another: each choice's chunks carry its index; the last choice's final chunk carries the usage of all.
 * With tools offered, text streams as content until a tool call begins; calls then stream as tool_calls deltas
 * (tool_call_stream.ts), and a choice that called tools ends with finish_reason 'tool_calls'. Logprobs ride on the
 * content deltas (the tokens of held-back text join the next content delta).
 */
async function* chunks(backend: ChatBackend, request: Request, prompt: string, head: Head, tools: ChatTool[] | undefined): AsyncGenerator<ChatCompletionChunk> {
  const chunk = (index: number, delta: ChatCompletionChunk['choices'][0]['delta'], finish: ChatFinishReason | null, logprobs?: ChatChoiceLogprobs | null): ChatCompletionChunk => ({
    ...head, object: 'chat.completion.chunk', choices: [{ index, delta, finish_reason: finish, ...(logprobs !== undefined ? { logprobs } : {}) }],
  });
  const results: GenerateResult[] = [];
  const n = request.n ?? 1;
  for (let index = 0; index < n; index++) {
    yield chunk(index, { role: 'assistant', content: '' }, null);
    const calls = tools && new ToolCallStream(tools);
    let pending: TokenLogprob[] = [];
    const deltas = async function* (parts: StreamDelta[]) {
      for (const delta of parts) {
        const withLogprobs = 'content' in delta && request.logprobs;
        yield chunk(index, delta, null, withLogprobs ? await chatLogprobs(backend, pending) : undefined);
        if (withLogprobs) pending = [];
      }
    };
    for await (const ev of backend.generate(generateRequest(request, prompt, index))) {
      if (ev.type === 'tokens') {
        pending.push(...(ev.logprobs ?? []));
        if (ev.text) yield* deltas(calls ? calls.push(ev.text) : [{ content: ev.text }]);
      }
      if (ev.type === 'done') {
        results.push(ev.result);
        const end = calls?.finish();
        if (end) yield* deltas(end.deltas);
        const last = chunk(index, {}, end?.called ? 'tool_calls' : finishReason(ev.result));
        yield index === n - 1 ? { ...last, usage: usageOf(results) } : last;
      }
    }
  }
}

/** The request with its null fields removed: OpenAI reads null as absent. Not a copy when none is null. */
function withoutNulls(request: ChatCompletionRequest): Request {
  if (typeof request !== 'object' || request === null || !Object.values(request).includes(null)) return request as Request;
  return Object.fromEntries(Object.entries(request).filter(([, v]) => v !== null)) as Request;
}

export function chatCompletions(backend: ChatBackend): Completions {
  async function create(withNulls: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const request = withoutNulls(withNulls);
    validateChatRequest(request, backend.info());
    const tools = offeredTools(request.tools, request.tool_choice);
    // only the fields templates read cross to the host (a caller's extra properties may not be cloneable); templates
    // expect text content, so an assistant turn of tool calls only renders with empty content
    const messages = request.messages.map(({ role, content, tool_calls, tool_call_id }) => ({ role, content: content ?? '', ...(tool_calls ? { tool_calls } : {}), ...(tool_call_id ? { tool_call_id } : {}) }));
    const prompt = await backend.applyChatTemplate(messages, tools);
    const head = { id: `chatcmpl-${crypto.randomUUID()}`, created: Math.floor(Date.now() / 1000), model: backend.model };
    if (request.stream) return chunks(backend, request, prompt, head, tools);
    const results: GenerateResult[] = [];
    for (let index = 0; index < (request.n ?? 1); index++) results.push(await finalResult(backend.generate(generateRequest(request, prompt, index))));
    const choices = await Promise.all(results.map(async (result, index) => {
      const message = assistantMessage(result.text, tools);
      return { index, message, finish_reason: finishReason(result, message), logprobs: await chatLogprobs(backend, result.logprobs) };
    }));
    return { ...head, object: 'chat.completion', choices, usage: usageOf(results) };
  }
  return { create: create as Completions['create'] };
}
