/**
 * Tool calls in the OpenAI chat shape: which tools a request offers, the constrained format that forces a call,
 * and the parsers for the formats models write them in: Qwen / Hermes `<tool_call>{json}</tool_call>`,
 * Mistral `[TOOL_CALLS][{...}]`, and a bare JSON object (Llama 3.1, optionally after `<|python_tag|>`) whose
 * arguments are under "arguments" or "parameters".
 */
import type { ChatTool, ChatToolCall, ChatToolChoice, ResponseFormat } from '../contract/types';

/** The tools to render into the prompt: none for tool_choice 'none', only the named one for a function choice. */
export function offeredTools(tools: ChatTool[] | undefined, choice: ChatToolChoice | undefined): ChatTool[] | undefined {
  if (!tools || tools.length === 0 || choice === 'none') return undefined;
  if (typeof choice === 'object') return tools.filter((t) => t.function.name === choice.function.name);
  return tools;
}

/**
 * For tool_choice 'required' or a named function: the output is constrained to one call, the JSON object
 * {"name": ..., "arguments": {...}} with the arguments valid for that tool's parameters schema.
 */
export function forcedCallFormat(tools: ChatTool[] | undefined, choice: ChatToolChoice | undefined): ResponseFormat | undefined {
  if (!tools || (choice !== 'required' && typeof choice !== 'object')) return undefined;
  const call = (t: ChatTool) => ({
    type: 'object',
    properties: { name: { const: t.function.name }, arguments: t.function.parameters ?? { type: 'object' } },
    required: ['name', 'arguments'],
    additionalProperties: false,
  });
  return { type: 'json_schema', json_schema: { name: 'tool_call', strict: true, schema: { anyOf: tools.map(call) } } };
}

/** Parsed calls to offered tools, and the text outside them (null when there is none); undefined when the text holds no call. */
export function parseToolCalls(text: string, tools: ChatTool[]): { content: string | null; calls: ChatToolCall[] } | undefined {
  const names = new Set(tools.map((t) => t.function.name));
  const tagged = [...text.matchAll(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g)];
  const mistral = /\[TOOL_CALLS\]\s*([\s\S]*)$/.exec(text);
  let found: { values: unknown[]; rest: string } | undefined;
  if (tagged.length > 0) found = { values: tagged.map((m) => parseJson(m[1])), rest: text.replace(/<tool_call>[\s\S]*?(?:<\/tool_call>|$)/g, '') };
  else if (mistral) found = { values: [parseJson(mistral[1])].flat(), rest: text.slice(0, mistral.index) };
  else found = { values: [parseJson(text.replace(/^\s*<\|python_tag\|>/, ''))], rest: '' };
  const calls = found.values.map((v) => toCall(v, names));
  if (calls.length === 0 || calls.some((c) => c === undefined)) return undefined;
  const rest = found.rest.trim();
  return { content: rest.length > 0 ? rest : null, calls: calls as ChatToolCall[] };
}

/** A fresh tool call id in OpenAI's shape. */
export function callId(): string {
  return `call_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.trim());
  } catch {
    return undefined;
  }
}

function toCall(value: unknown, names: Set<string>): ChatToolCall | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as { name?: unknown; arguments?: unknown; parameters?: unknown };
  if (typeof v.name !== 'string' || !names.has(v.name)) return undefined;
  const args = v.arguments ?? v.parameters ?? {};
  return { id: callId(), type: 'function', function: { name: v.name, arguments: typeof args === 'string' ? args : JSON.stringify(args) } };
}
