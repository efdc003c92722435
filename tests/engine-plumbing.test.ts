/**
 * Transport, queue, batching, abort and error plumbing of the Engine, driven by a small deterministic
 * runtime double (the real Runtime is exercised in engine.test.ts). Runs once in-thread and once across
 * a Comlink MessageChannel, the same wire the browser Worker uses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { comlinkTransport } from '../src/browser/comlink';
import { ClientEngine, localTransport, type Transport } from '../src/client/engine';
import type { ChatMessage, EngineInfo, EngineOptions, GenerateEvent, GenerateRequest, GenerateResult, LoadProgress } from '../src/contract/types';
import type { LoadRequest } from '../src/contract/wire';
import type { Gpu } from '../src/gpu/device';
import { AbortError, ContextLengthError, DeviceLostError, InvalidRequestError, ModelFormatError } from '../src/contract/errors';
import { exposeHost } from '../src/browser/expose';
import { RuntimeHost, type HostEnvironment, type RuntimeLike } from '../src/runtime/host';

const INFO: EngineInfo = {
  architecture: 'Double', layers: 2, hidden: 8, heads: 2, kvHeads: 1, headDim: 4, vocab: 50, contextLength: 64,
  params: 0, dtype: 'f32', maxDraftLength: 15, adapter: { description: 'none', isSoftware: true, features: [], limits: {} },
};

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Next token = a hash of the previous one; one token per step with a short pause, like a GPU readback. */
class DoubleRuntime implements RuntimeLike {
  readonly info = INFO;
  disposed = false;
  constructor(private readonly stepMs: number) {}
  resetCache(): void {}
  async generate(request: Omit<GenerateRequest, 'signal'>, emit: (ev: GenerateEvent) => void, shouldStop: () => boolean): Promise<GenerateResult> {
    const prompt = typeof request.prompt === 'string' ? this.tokenize(request.prompt) : request.prompt;
    if (prompt.length > 40) throw new ContextLengthError('prompt too long', { promptTokens: prompt.length });
    let last = prompt[prompt.length - 1];
    const tokens: number[] = [];
    let aborted = false;
    for (let i = 0; i < (request.maxTokens ?? 8); i++) {
      if (shouldStop()) {
        aborted = true;
        break;
      }
      await tick(this.stepMs);
      last = (last * 7 + 3) % INFO.vocab;
      tokens.push(last);
      emit({ type: 'tokens', tokens: [last], text: this.detokenize([last]) });
    }
    const result: GenerateResult = {
      text: this.detokenize(tokens), tokens, aborted, finishReason: aborted ? 'aborted' : 'length',
      stats: { prefillTokens: prompt.length, prefillMs: 0, decodeTokens: tokens.length, decodeMs: 0, forwardPasses: tokens.length },
    };
    emit({ type: 'done', result });
    return result;
  }
  async logits(ids: number[]) {
    return Float32Array.from({ length: ids.length * INFO.vocab }, (_, i) => i);
  }
  tokenize(text: string) {
    return [...text].map((c) => c.charCodeAt(0) % INFO.vocab);
  }
  detokenize(ids: number[]) {
    return ids.map((id) => String.fromCharCode(97 + (id % 26))).join('');
  }
  applyChatTemplate(messages: ChatMessage[]) {
    return messages.map((m) => `${m.role}:${m.content}`).join('|');
  }
  kernelProfile() {
    return { timestamps: false, layers: 0, kernels: [], steps: [] };
  }
  dispose() {
    this.disposed = true;
  }
}

/** A device whose loss the test triggers. */
function doubleGpu(): { gpu: Gpu; lose: () => void } {
  let lose!: () => void;
  const lost = new Promise<DeviceLostError>((resolve) => (lose = () => resolve(new DeviceLostError('GPU device lost (unknown): test', { reason: 'unknown' }))));
  return { gpu: { lost } as Gpu, lose };
}

class DoubleEnvironment implements HostEnvironment {
  devices: { gpu: Gpu; lose: () => void }[] = [];
  runtimes: DoubleRuntime[] = [];
  constructor(private readonly stepMs = 2) {}
  async gpu() {
    this.devices.push(doubleGpu());
    return this.devices[this.devices.length - 1].gpu;
  }
  async load(_gpu: Gpu, request: LoadRequest, onProgress: (p: LoadProgress) => void, signal: AbortSignal) {
    if (request.model === 'broken') throw new ModelFormatError('config.json: not JSON', { file: 'config.json' });
    const total = 1000;
    for (let loaded = 0; loaded <= total; loaded += 100) {
      if (signal.aborted) throw signal.reason;
      onProgress({ phase: 'weights', loadedBytes: loaded, totalBytes: total, file: 'model.safetensors' });
      await tick(20);
    }
    onProgress({ phase: 'ready', loadedBytes: total, totalBytes: total });
    const runtime = new DoubleRuntime(this.stepMs);
    this.runtimes.push(runtime);
    return runtime;
  }
}

const transports: Record<string, (host: RuntimeHost) => Transport> = {
  'in-thread': (host) => localTransport(host),
  comlink: (host) => {
    const { port1, port2 } = new MessageChannel();
    exposeHost(host, port1);
    return comlinkTransport(port2, () => {
      port1.close();
      port2.close();
    });
  },
};

const open: ClientEngine[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.dispose()));
});

async function engineOver(kind: string, env = new DoubleEnvironment(), onProgress?: (p: LoadProgress) => void, signal?: AbortSignal) {
  const engine = await ClientEngine.open(transports[kind](new RuntimeHost(env)), { model: '/models/double/', onProgress, signal });
  open.push(engine);
  return { engine, env };
}

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const all: GenerateEvent[] = [];
  for await (const ev of events) all.push(ev);
  return all;
}

for (const kind of Object.keys(transports)) {
  describe(`engine plumbing (${kind})`, () => {
    it('streams batched token events that add up to the final result', async () => {
      const { engine } = await engineOver(kind, new DoubleEnvironment(0));
      const events = await collect(engine.generate({ prompt: 'hello', maxTokens: 40 }));
      const done = events[events.length - 1];
      expect(done.type).toBe('done');
      if (done.type !== 'done') return;
      const streamed = events.flatMap((e) => (e.type === 'tokens' ? e.tokens : []));
      expect(streamed).toEqual(done.result.tokens);
      expect(done.result.tokens).toHaveLength(40);
      // 40 steps of ~0 ms each must not cost 40 messages
      expect(events.filter((e) => e.type === 'tokens').length).toBeLessThan(20);
    });

    it('abort mid-stream ends with done(aborted) and leaves the engine answering as before', async () => {
      const { engine } = await engineOver(kind);
      const lone = await engine.complete({ prompt: 'abc', maxTokens: 12 });
      const controller = new AbortController();
      let done: GenerateResult | undefined;
      for await (const ev of engine.generate({ prompt: 'abc', maxTokens: 60, signal: controller.signal })) {
        if (ev.type === 'tokens') controller.abort();
        if (ev.type === 'done') done = ev.result;
      }
      expect(done?.aborted).toBe(true);
      expect(done?.finishReason).toBe('aborted');
      expect(done!.tokens.length).toBeLessThan(60);
      expect(await engine.complete({ prompt: 'abc', maxTokens: 12 })).toEqual(lone);
    });

    it('a consumer that stops reading early stops the host, and the queue moves on', async () => {
      const { engine } = await engineOver(kind);
      for await (const ev of engine.generate({ prompt: 'abc', maxTokens: 60 })) if (ev.type === 'tokens') break;
      const started = performance.now();
      const next = await engine.complete({ prompt: 'xyz', maxTokens: 3 });
      expect(next.tokens).toHaveLength(3);
      expect(performance.now() - started).toBeLessThan(60 * 2);
    });

    it('8 concurrent completes each get what a lone call returns', async () => {
      const { engine } = await engineOver(kind);
      const prompts = ['a', 'bb', 'ccc', 'dddd', 'e', 'ff', 'ggg', 'hhhh'];
      const lone: GenerateResult[] = [];
      for (const p of prompts) lone.push(await engine.complete({ prompt: p, maxTokens: 6 }));
      const together = await Promise.all(prompts.map((p) => engine.complete({ prompt: p, maxTokens: 6 })));
      expect(together).toEqual(lone);
    });

    it('hostile requests are refused with typed errors before they reach the host', async () => {
      const { engine } = await engineOver(kind);
      const before = await engine.complete({ prompt: 'ok', maxTokens: 5 });
      const hostile: [GenerateRequest, typeof InvalidRequestError][] = [
        [{ prompt: '' }, InvalidRequestError],
        [{ prompt: [] }, InvalidRequestError],
        [{ prompt: [1, 50] }, InvalidRequestError],
        [{ prompt: [1, -1] }, InvalidRequestError],
        [{ prompt: [1, 2.5] }, InvalidRequestError],
        [{ prompt: Array(64).fill(1) }, ContextLengthError],
        [{ prompt: 'x', maxTokens: -1 }, InvalidRequestError],
        [{ prompt: 'x', maxTokens: 1e9 }, InvalidRequestError],
        [{ prompt: 'x', maxTokens: NaN }, InvalidRequestError],
        [{ prompt: 'x', strategy: { kind: 'beam' } as never }, InvalidRequestError],
        [{ prompt: 'x', strategy: { kind: 'sample', temperature: NaN } }, InvalidRequestError],
        [{ prompt: 'x', strategy: { kind: 'sample', topP: 0 } }, InvalidRequestError],
        [{ prompt: 'x', stop: [''] }, InvalidRequestError],
      ];
      for (const [request, ErrorClass] of hostile) {
        await expect(engine.complete(request), JSON.stringify(request)).rejects.toBeInstanceOf(ErrorClass);
      }
      await expect(engine.logits([99])).rejects.toBeInstanceOf(InvalidRequestError);
      expect(await engine.complete({ prompt: 'ok', maxTokens: 5 })).toEqual(before);
    });

    it('hostile engine options are refused naming the field, before the host loads anything; the host stays usable', async () => {
      const env = new DoubleEnvironment();
      const host = new RuntimeHost(env);
      const model = '/models/double/';
      const hostile: [string, unknown][] = [
        ['options', null],
        ['model', { model: '' }],
        ['onProgress', { model, onProgress: 'log' }],
        ['signal', { model, signal: { aborted: false } }],
        ['quantize', { model, quantize: 'q16' }],
        ['quantize', { model, quantize: 8 }],
        ['contextLength', { model, contextLength: 0 }],
        ['contextLength', { model, contextLength: 1.5 }],
        ['contextLength', { model, contextLength: '512' }],
        ['contextLength', { model, contextLength: NaN }],
        ['maxResidentExperts', { model, maxResidentExperts: 0 }],
        ['sparsity', { model, sparsity: 0.5 }],
        ['sparsity.mlp', { model, sparsity: {} }],
        ['sparsity.mlp', { model, sparsity: { mlp: 1 } }],
        ['sparsity.mlp', { model, sparsity: { mlp: -0.1 } }],
        ['sparsity.mlp', { model, sparsity: { mlp: '0.5' } }],
        ['ngrams', { model, ngrams: '' }],
        ['ngrams', { model, ngrams: 42 }],
        ['profile', { model, profile: 'yes' }],
        ['worker', { model, worker: 0 }],
        ['cache', { model, cache: 'false' }],
        ['expectedSha256', { model, expectedSha256: 'ab12' }],
        ['expectedSha256.model.safetensors', { model, expectedSha256: { 'model.safetensors': 'ab12' } }],
      ];
      for (const [field, options] of hostile) {
        const error = await ClientEngine.open(transports[kind](host), options as EngineOptions).catch((e: unknown) => e);
        expect(error, field).toBeInstanceOf(InvalidRequestError);
        expect((error as InvalidRequestError).message, field).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
        expect((error as InvalidRequestError).details, field).toMatchObject({ field });
      }
      expect(env.devices).toHaveLength(0);
      const edges: EngineOptions = {
        model, signal: new AbortController().signal, quantize: 'q4', contextLength: 1, sparsity: { mlp: 0 }, ngrams: 'ngrams.bin',
        profile: false, cache: false, expectedSha256: { 'model.safetensors': 'A'.repeat(64) },
        // an unknown field the structured clone cannot copy is not sent to the host
        ...({ extra: () => 'not cloneable' } as object),
      };
      const engine = await ClientEngine.open(transports[kind](host), edges);
      open.push(engine);
      expect((await engine.complete({ prompt: 'ok', maxTokens: 3 })).tokens).toHaveLength(3);
    });

    it('errors raised by the runtime arrive as the same class with message and details', async () => {
      const { engine } = await engineOver(kind);
      const error = await engine.complete({ prompt: 'y'.repeat(41) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ContextLengthError);
      expect((error as ContextLengthError).name).toBe('ContextLengthError');
      expect((error as ContextLengthError).details).toEqual({ promptTokens: 41 });
      const loadError = await ClientEngine.open(transports[kind](new RuntimeHost(new DoubleEnvironment())), { model: 'broken' }).catch((e: unknown) => e);
      expect(loadError).toBeInstanceOf(ModelFormatError);
      expect((loadError as ModelFormatError).message).toBe('config.json: not JSON');
      expect((loadError as ModelFormatError).details).toEqual({ file: 'config.json' });
    });

    it('reports load progress and aborts loading with AbortError', async () => {
      const progress: LoadProgress[] = [];
      // what the callback returns (here a function, which no structured clone can copy) stays on its side
      await engineOver(kind, new DoubleEnvironment(), (p) => {
        progress.push(p);
        return () => p;
      });
      expect(progress.length).toBeGreaterThan(3);
      expect(progress[progress.length - 1].phase).toBe('ready');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      await expect(engineOver(kind, new DoubleEnvironment(), undefined, controller.signal)).rejects.toBeInstanceOf(AbortError);
    });

    it('device loss fails pending and later calls with DeviceLostError; reload recovers', async () => {
      const { engine, env } = await engineOver(kind);
      const expected = await engine.complete({ prompt: 'abc', maxTokens: 6 });
      const pending = engine.complete({ prompt: 'abc', maxTokens: 50 });
      await tick(10);
      env.devices[0].lose();
      await expect(pending).rejects.toBeInstanceOf(DeviceLostError);
      await expect(engine.complete({ prompt: 'abc', maxTokens: 6 })).rejects.toBeInstanceOf(DeviceLostError);
      await engine.reload();
      expect(env.runtimes[0].disposed).toBe(true);
      expect(await engine.complete({ prompt: 'abc', maxTokens: 6 })).toEqual(expected);
    });

    it('a disposed engine refuses calls instead of waiting forever', async () => {
      const { engine, env } = await engineOver(kind);
      await engine.dispose();
      expect(env.runtimes[0].disposed).toBe(true);
      await expect(engine.complete({ prompt: 'abc' })).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(engine.tokenize('abc')).rejects.toBeInstanceOf(InvalidRequestError);
    });

    it('chat completions in the OpenAI shape, streamed and whole', async () => {
      const { engine } = await engineOver(kind);
      const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }];
      const whole = await engine.chat.completions.create({ messages, max_tokens: 5, temperature: 0 });
      expect(whole.object).toBe('chat.completion');
      expect(whole.model).toBe('double');
      expect(whole.choices[0].message.role).toBe('assistant');
      expect(whole.choices[0].finish_reason).toBe('length');
      expect(whole.usage.completion_tokens).toBe(5);
      expect(whole.usage.total_tokens).toBe(whole.usage.prompt_tokens + 5);
      const chunks = [];
      for await (const chunk of await engine.chat.completions.create({ messages, max_tokens: 5, temperature: 0, stream: true })) chunks.push(chunk);
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole.choices[0].message.content);
      expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('length');
      expect(chunks[chunks.length - 1].usage).toEqual(whole.usage);
      await expect(engine.chat.completions.create({ messages: [] })).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(engine.chat.completions.create({ messages, temperature: NaN })).rejects.toBeInstanceOf(InvalidRequestError);
    });
  });
}
