/** The OpenAI-shaped chat contract of `engine.chat.completions.create` (the rest of the contract: types.ts). */
import type { ResponseFormat, Strategy } from './types';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** null (or absent) only for an assistant message that holds tool_calls */
  content?: string | null;
  /** assistant: the calls it made (rendered back through the chat template) */
  tool_calls?: ChatToolCall[];
  /** tool: the call this result answers */
  tool_call_id?: string;
}

/** A function the model may call: OpenAI's tool shape (parameters: a JSON Schema of the structured-outputs subset). */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  /** arguments: JSON text */
  function: { name: string; arguments: string };
}

/** A streamed piece of tool call `index`: the first carries id, type and name; the next ones more of the arguments' text. */
export interface ChatToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** 'none': no tools offered; 'auto': the model decides; 'required' or a named function: the call is constrained to valid JSON. */
export type ChatToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** OpenAI's chat request; a field set to null is absent (as OpenAI reads it). */
export interface ChatCompletionRequest {
  messages: ChatMessage[];
  stream?: boolean | null;
  max_tokens?: number | null;
  /** OpenAI's newer name for max_tokens */
  max_completion_tokens?: number | null;
  /** with none of temperature, top_p, seed (and n 1): the model's generation_config.json sampling, else greedy */
  temperature?: number | null;
  top_p?: number | null;
  /** extension (as in vLLM and llama.cpp's servers): keep tokens of at least min_p times the top probability */
  min_p?: number;
  seed?: number | null;
  stop?: string | string[] | null;
  /** choices, generated one after another from the same prompt (its KV cache reused); independent samples when sampling */
  n?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  /** extension (as in vLLM and llama.cpp's servers): GenerateRequest.repetitionPenalty */
  repetition_penalty?: number;
  /** token id (as a string key, as in JSON) -> bias */
  logit_bias?: Record<string, number> | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  response_format?: ResponseFormat;
  /**
   * extension: the decoding strategy of every choice (self-speculative, superposed, ...), instead of temperature,
   * top_p, min_p and seed; a sampling strategy's seed is offset by the choice index
   */
  strategy?: Strategy;
  /** rendered through the model's chat template (its `tools` variable); calls in the output come back as tool_calls */
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  signal?: AbortSignal;
}

export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/** OpenAI's choice.logprobs: one entry per generated token. */
export interface ChatChoiceLogprobs {
  content: (ChatLogprob & { top_logprobs: ChatLogprob[] })[];
  /** no refusals are generated */
  refusal: null;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** cached_tokens: prompt tokens whose KV cache was reused from the previous request */
  prompt_tokens_details: { cached_tokens: number };
}

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: ChatAssistantMessage; finish_reason: ChatFinishReason; logprobs: ChatChoiceLogprobs | null }[];
  usage: ChatUsage;
}

/** content null when the reply is tool calls only */
export interface ChatAssistantMessage {
  role: 'assistant';
  content: string | null;
  /** no refusals are generated */
  refusal: null;
  tool_calls?: ChatToolCall[];
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string; tool_calls?: ChatToolCallDelta[] }; finish_reason: ChatFinishReason | null; logprobs?: ChatChoiceLogprobs | null }[];
  usage?: ChatUsage;
}
