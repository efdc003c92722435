/**
 * The Node Engine over the real Runtime with the shipped tiny-dense model: streaming, abort, queueing,
 * hostile requests, the OpenAI chat shape, typed errors and recovery from a lost device.
 */
import { mkdtemp, writeFile, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEngine, localTransport } from '../src/client/engine';
import type { ChatCompletionChunk, Engine, GenerateEvent, GenerateRequest, GenerateResult, LoadProgress } from '../src/contract/types';
import { requestGpu } from '../src/gpu/device';
import { AbortError, ContextLengthError, DeviceLostError, InferError, InvalidRequestError, ModelFormatError, ResourceLimitError } from '../src/contract/errors';
import { createEngine } from '../src/node/index';
import { nodeGpu } from '../src/node/gpu';
import { directorySource } from '../src/node/source';
import { RuntimeHost } from '../src/runtime/host';
import { loadRuntime } from '../src/runtime/load';

const MODEL = 'public/models/tiny-dense';

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ model: MODEL });
});
afterAll(async () => {
  await engine?.dispose();
});

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const all: GenerateEvent[] = [];
  for await (const ev of events) all.push(ev);
  return all;
}

describe('Node engine on tiny-dense', () => {
  it('streams token events that add up to the final result', async () => {
    const events = await collect(engine.generate({ prompt: 'Once upon a time', maxTokens: 32, stopAtEos: false }));
    const done = events[events.length - 1];
    if (done.type !== 'done') throw new Error('the stream must end with done');
    const tokenEvents = events.filter((e) => e.type === 'tokens');
    expect(done.result.tokens).toHaveLength(32);
    expect(tokenEvents.flatMap((e) => e.tokens)).toEqual(done.result.tokens);
    expect(tokenEvents.map((e) => e.text).join('')).toBe(done.result.text);
    expect(done.result.stats.decodeTokens).toBe(32);
    console.log(`32 tokens in ${tokenEvents.length} token events (${(done.result.stats.decodeMs / 32).toFixed(1)} ms/token)`);
  });

  it('abort mid-stream ends with done(aborted) and the engine answers exactly as before', async () => {
    const request: GenerateRequest = { prompt: 'The little robot', maxTokens: 16, stopAtEos: false };
    const before = await engine.complete(request);
    const controller = new AbortController();
    let aborted: GenerateResult | undefined;
    for await (const ev of engine.generate({ ...request, maxTokens: 400, signal: controller.signal })) {
      if (ev.type === 'tokens') controller.abort();
      if (ev.type === 'done') aborted = ev.result;
    }
    expect(aborted?.aborted).toBe(true);
    expect(aborted?.finishReason).toBe('aborted');
    expect(aborted!.tokens.length).toBeGreaterThan(0);
    expect(aborted!.tokens.length).toBeLessThan(400);
    expect((await engine.complete(request)).tokens).toEqual(before.tokens);
  });

  it('8 concurrent completes each return what a lone call returns', async () => {
    const requests: GenerateRequest[] = [
      'Once upon a time', 'The cat', 'A dog ran', 'She said', 'In the morning', 'Tom and Lily', 'The sun', 'One day',
    ].map((prompt, i) => ({
      prompt, maxTokens: 6, stopAtEos: false,
      strategy: i % 2 ? { kind: 'sample', temperature: 0.8, seed: 7 + i } : { kind: 'greedy' },
    }));
    const lone: number[][] = [];
    for (const r of requests) lone.push((await engine.complete(r)).tokens);
    const together = await Promise.all(requests.map((r) => engine.complete(r)));
    expect(together.map((r) => r.tokens)).toEqual(lone);
  });

  it('hostile requests get typed errors and leave the answers unchanged', async () => {
    const probe: GenerateRequest = { prompt: 'Hello', maxTokens: 8, stopAtEos: false };
    const before = await engine.complete(probe);
    const { vocab, contextLength } = engine.info;
    const hostile: [string, GenerateRequest, typeof InferError][] = [
      ['text beyond the context', { prompt: 'a b '.repeat(contextLength) }, ContextLengthError],
      ['ids beyond the context', { prompt: Array(contextLength).fill(5) }, ContextLengthError],
      ['token id out of vocabulary', { prompt: [3, vocab] }, InvalidRequestError],
      ['negative token id', { prompt: [-1] }, InvalidRequestError],
      ['negative maxTokens', { prompt: 'x', maxTokens: -5 }, InvalidRequestError],
      ['absurd maxTokens', { prompt: 'x', maxTokens: 1e12 }, InvalidRequestError],
      ['unknown strategy', { prompt: 'x', strategy: { kind: 'beam-search' } as never }, InvalidRequestError],
      ['NaN temperature', { prompt: 'x', strategy: { kind: 'sample', temperature: NaN } }, InvalidRequestError],
      ['empty text', { prompt: '' }, InvalidRequestError],
      ['no ids', { prompt: [] }, InvalidRequestError],
    ];
    for (const [what, request, ErrorClass] of hostile) {
      const error = await engine.complete(request).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(ErrorClass);
      expect((error as InferError).message.length, what).toBeGreaterThan(10);
    }
    // the runtime checks too: a request that skips the client's checks is refused the same way
    const host = new RuntimeHost({ gpu: nodeGpu, load: (gpu, r, p, s) => loadRuntime(gpu, directorySource(MODEL), r, p, s) });
    await host.load({ model: MODEL });
    const { port1, port2 } = new MessageChannel();
    const answer = new Promise((resolve) => (port1.onmessage = (m) => resolve(m.data)));
    await host.generate({ prompt: [vocab + 1] }, port2);
    expect(await answer).toMatchObject({ error: { name: 'InvalidRequestError' } });
    port1.close();
    await host.dispose();
    expect(await engine.complete(probe)).toMatchObject({ tokens: before.tokens, text: before.text });
  });

  it('chat completions in the OpenAI shape, whole and streamed', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
    const whole = await engine.chat.completions.create({ messages, max_tokens: 8, temperature: 0 });
    expect(whole).toMatchObject({ object: 'chat.completion', model: 'tiny-dense', choices: [{ index: 0, message: { role: 'assistant' } }] });
    expect(['stop', 'length']).toContain(whole.choices[0].finish_reason);
    expect(whole.usage.prompt_tokens).toBeGreaterThan(0);
    expect(whole.usage.total_tokens).toBe(whole.usage.prompt_tokens + whole.usage.completion_tokens);
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of await engine.chat.completions.create({ messages, max_tokens: 8, temperature: 0, stream: true })) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole.choices[0].message.content);
    const last = chunks[chunks.length - 1];
    expect(last.choices[0].finish_reason).toBe(whole.choices[0].finish_reason);
    // the same prompt again: its KV cache is reused up to the token that starts decoding
    const { prompt_tokens_details: details, ...counts } = last.usage!;
    const { prompt_tokens_details: _, ...wholeCounts } = whole.usage;
    expect(counts).toEqual(wholeCounts);
    expect(details.cached_tokens).toBe(whole.usage.prompt_tokens - 1);
    await expect(engine.chat.completions.create({ messages: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(engine.chat.completions.create({ messages, top_p: 2 })).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

describe('loading', () => {
  it('reports progress through to ready, and aborts with AbortError', async () => {
    const progress: LoadProgress[] = [];
    const second = await createEngine({ model: MODEL, onProgress: (p) => progress.push(p) });
    await second.dispose();
    expect(progress.some((p) => p.phase === 'weights' && p.loadedBytes > 0 && p.loadedBytes < p.totalBytes)).toBe(true);
    expect(progress[progress.length - 1].phase).toBe('ready');
    const controller = new AbortController();
    const pending = createEngine({ model: MODEL, signal: controller.signal, onProgress: (p) => p.phase === 'weights' && controller.abort() });
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });

  it('names the file at fault for a missing folder or a broken config, then a good model still loads', async () => {
    const missing = await createEngine({ model: 'tests/fixtures/models/no-such-model' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelFormatError);
    expect((missing as ModelFormatError).details).toMatchObject({ file: 'config.json' });
    const dir = await mkdtemp(join(tmpdir(), 'broken-config-'));
    try {
      for (const f of ['tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) await copyFile(join(MODEL, f), join(dir, f));
      await writeFile(join(dir, 'config.json'), '{"architectures": ["LlamaForCausalLM"], ');
      const broken = await createEngine({ model: dir }).catch((e: unknown) => e);
      expect(broken).toBeInstanceOf(ModelFormatError);
      expect((broken as Error).message).toContain('config.json');
    } finally {
      await rm(dir, { recursive: true });
    }
    const good = await createEngine({ model: MODEL });
    expect((await good.complete({ prompt: 'Hi', maxTokens: 2 })).tokens).toHaveLength(2);
    await good.dispose();
  });
});

describe('memory estimate', () => {
  it('refuses a model the device cannot hold before reading any weight, naming sizes', async () => {
    const progress: LoadProgress[] = [];
    const small = new RuntimeHost({ gpu: nodeGpu, load: (gpu, r, p, s) => loadRuntime(gpu, directorySource(MODEL), r, p, s, 4 << 20) });
    const error = await ClientEngine.open(localTransport(small), { model: MODEL, onProgress: (p) => progress.push(p) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLimitError);
    expect((error as ResourceLimitError).message).toMatch(/needs about [\d.]+ MiB .* reports 4\.0 MiB/);
    expect((error as ResourceLimitError).details).toMatchObject({ availableBytes: 4 << 20 });
    expect(progress.filter((p) => p.phase === 'weights')).toEqual([]);
  });
});

describe('device loss', () => {
  it('fails the next call with DeviceLostError; reload() brings the same answers back', async () => {
    await nodeGpu(); // installs the WebGPU globals and picks the Vulkan driver
    const { create } = await import('webgpu');
    const devices: GPUDevice[] = [];
    const instances: GPU[] = []; // Dawn frees a collected instance even while its device is in use
    const host = new RuntimeHost({
      gpu: async () => {
        instances.push(create([]));
        const gpu = await requestGpu(instances[instances.length - 1]);
        devices.push(gpu.device);
        return gpu;
      },
      load: (gpu, r, p, s) => loadRuntime(gpu, directorySource(MODEL), r, p, s),
    });
    const lossy = await ClientEngine.open(localTransport(host), { model: MODEL });
    const request: GenerateRequest = { prompt: 'Once upon a time', maxTokens: 6, stopAtEos: false };
    const expected = await lossy.complete(request);
    devices[0].destroy();
    await expect(lossy.complete(request)).rejects.toBeInstanceOf(DeviceLostError);
    await expect(lossy.logits([1, 2])).rejects.toBeInstanceOf(DeviceLostError);
    await lossy.reload();
    expect(devices).toHaveLength(2);
    expect((await lossy.complete(request)).tokens).toEqual(expected.tokens);
    await lossy.dispose();
  });
});
