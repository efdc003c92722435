/** `engine.chat.completions.create`: the OpenAI chat shape on top of the chat template and generate(). */
import { InferError } from '../contract/errors';
import { validateChatRequest } from '../contract/validate';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage, Engine, EngineInfo, GenerateEvent,
  GenerateRequest, GenerateResult, Strategy,
} from '../contract/types';

export interface ChatBackend {
  readonly model: string;
  info(): EngineInfo;
  applyChatTemplate(messages: ChatMessage[]): Promise<string>;
  generate(request: GenerateRequest): AsyncIterable<GenerateEvent>;
}

type Completions = Engine['chat']['completions'];
type Usage = ChatCompletion['usage'];

/**
 * The request's sampling: undefined (the model's generation_config.json defaults) when it sets none of temperature,
 * top_p, seed; else OpenAI semantics: temperature defaults to 1; 0 means greedy (the sample strategy takes that limit).
 */
function strategyOf(request: ChatCompletionRequest): Strategy | undefined {
  if (request.temperature === undefined && request.top_p === undefined && request.seed === undefined) return undefined;
  return { kind: 'sample', temperature: request.temperature ?? 1, topP: request.top_p, seed: request.seed };
}

function finishReason(result: GenerateResult): 'stop' | 'length' {
  return result.finishReason === 'length' ? 'length' : 'stop';
}

function usageOf(result: GenerateResult): Usage {
  const prompt = result.stats.prefillTokens;
  return { prompt_tokens: prompt, completion_tokens: result.tokens.length, total_tokens: prompt + result.tokens.length };
}

async function* chunks(events: AsyncIterable<GenerateEvent>, head: Pick<ChatCompletionChunk, 'id' | 'created' | 'model'>): AsyncGenerator<ChatCompletionChunk> {
  const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: 'stop' | 'length' | null): ChatCompletionChunk => ({
    ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }],
  });
  yield chunk({ role: 'assistant', content: '' }, null);
  for await (const ev of events) {
    if (ev.type === 'tokens' && ev.text) yield chunk({ content: ev.text }, null);
    if (ev.type === 'done') yield { ...chunk({}, finishReason(ev.result)), usage: usageOf(ev.result) };
  }
}

async function finalResult(events: AsyncIterable<GenerateEvent>): Promise<GenerateResult> {
  for await (const ev of events) if (ev.type === 'done') return ev.result;
  throw new InferError('the generation stream ended without a done event');
}

export function chatCompletions(backend: ChatBackend): Completions {
  async function create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    validateChatRequest(request, backend.info());
    const prompt = await backend.applyChatTemplate(request.messages.map(({ role, content }) => ({ role, content })));
    const stop = typeof request.stop === 'string' ? [request.stop] : request.stop;
    const events = backend.generate({ prompt, maxTokens: request.max_tokens, strategy: strategyOf(request), stop, signal: request.signal });
    const head = { id: `chatcmpl-${crypto.randomUUID()}`, created: Math.floor(Date.now() / 1000), model: backend.model };
    if (request.stream) return chunks(events, head);
    const result = await finalResult(events);
    return {
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: finishReason(result) }],
      usage: usageOf(result),
    };
  }
  return { create: create as Completions['create'] };
}
