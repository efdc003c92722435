/**
 * Type compatibility with the official `openai` SDK (a devDependency, types only): our chat request accepts the
 * SDK's ChatCompletionCreateParams fields we support (text messages), and our responses and chunks are assignable
 * to its ChatCompletion and ChatCompletionChunk. `npm run typecheck` compiles this file; the runtime cases check
 * that every SDK field we do not support is refused by name.
 */
import { describe, expect, it } from 'vitest';
import type { ChatCompletion as SdkCompletion, ChatCompletionChunk as SdkChunk, ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from '../src/contract/types';
import { validateChatRequest } from '../src/contract/validate';
import { InvalidRequestError } from '../src/contract/errors';

/** The SDK fields the engine acts on. */
type Supported = 'messages' | 'model' | 'stream' | 'max_tokens' | 'max_completion_tokens' | 'temperature' | 'top_p' | 'seed' | 'stop' | 'n'
  | 'frequency_penalty' | 'presence_penalty' | 'logit_bias' | 'logprobs' | 'top_logprobs' | 'response_format' | 'tools' | 'tool_choice';

/** SDK messages of the roles we render, with text content (content parts and the developer role are not supported). */
type TextMessage = Extract<ChatCompletionMessageParam, { role: 'system' | 'user' | 'assistant' | 'tool' }> & { content: string | null };
type SdkRequest = Omit<Pick<ChatCompletionCreateParamsBase, Supported>, 'messages' | 'tools' | 'tool_choice'> & {
  messages: Omit<TextMessage, 'name' | 'refusal' | 'audio' | 'function_call' | 'tool_calls'>[];
  tools?: Extract<NonNullable<ChatCompletionCreateParamsBase['tools']>[number], { type: 'function' }>[];
  tool_choice?: Exclude<NonNullable<ChatCompletionCreateParamsBase['tool_choice']>, { type: 'allowed_tools' } | { type: 'custom' }>;
};

// compile-time checks: each line fails `tsc` if the types drift apart
export const acceptsSdkRequest = (r: SdkRequest): Omit<ChatCompletionRequest, 'model'> => r;
export const completionIsSdk = (c: ChatCompletion): SdkCompletion => c;
export const chunkIsSdk = (c: ChatCompletionChunk): SdkChunk => c;

const limits = { vocab: 100, contextLength: 64, layers: 2, maxDraftLength: 15 };
const base: ChatCompletionRequest = { messages: [{ role: 'user', content: 'hi' }] };

describe('OpenAI SDK fields we do not support', () => {
  /** every ChatCompletionCreateParams key outside Supported, with a plausible value */
  const UNSUPPORTED: Record<Exclude<keyof ChatCompletionCreateParamsBase, Supported>, unknown> = {
    audio: { voice: 'alloy', format: 'mp3' }, function_call: 'auto', functions: [], metadata: {}, modalities: ['text'], parallel_tool_calls: false,
    prediction: { type: 'content', content: 'x' }, prompt_cache_key: 'k', prompt_cache_retention: '24h', reasoning_effort: 'low', safety_identifier: 's',
    service_tier: 'auto', store: true, stream_options: { include_usage: true }, user: 'u', verbosity: 'low', web_search_options: {},
  } as never;

  it('are refused with an InvalidRequestError naming the field', () => {
    for (const [field, value] of Object.entries(UNSUPPORTED)) {
      let error: unknown;
      try {
        validateChatRequest({ ...base, [field]: value } as ChatCompletionRequest, limits);
      } catch (e) {
        error = e;
      }
      expect(error, field).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).details, field).toMatchObject({ field });
    }
  });
});
