/**
 * The side of an engine that owns the GPU: one Runtime, a FIFO queue of requests, batched event
 * streams over MessagePorts, aborts between steps and device-loss handling. DOM-free and thread-agnostic:
 * the Worker exposes it through Comlink; in-thread and Node engines call it directly.
 */
import type { ChatMessage, ChatTool, EngineInfo, GenerateEvent, GenerateRequest, GenerateResult, KernelProfile, LoadProgress } from '../contract/types';
import { toWireError, type ClientMessage, type HostMessage, type LoadRequest, type WireRequest } from '../contract/wire';
import type { Gpu } from '../gpu/device';
import { AbortError, DeviceLostError, InferError, InvalidRequestError } from '../contract/errors';
import { EventBatcher } from './batcher';

/** The Runtime surface the host drives (src/runtime/runtime.ts implements it). */
export interface RuntimeLike {
  readonly info: EngineInfo;
  generate(request: Omit<GenerateRequest, 'signal'>, emit: (ev: GenerateEvent) => void, shouldStop: () => boolean): Promise<GenerateResult>;
  logits(ids: number[]): Promise<Float32Array>;
  tokenize(text: string): number[];
  detokenize(ids: number[]): string;
  applyChatTemplate(messages: ChatMessage[], tools?: ChatTool[]): string;
  kernelProfile(): KernelProfile;
  resetCache(): void;
  dispose(): void;
}

/** What differs between the browser Worker, the page and Node: where the GPU and the model files come from. */
export interface HostEnvironment {
  gpu(): Promise<Gpu>;
  load(gpu: Gpu, request: LoadRequest, onProgress: (p: LoadProgress) => void, signal: AbortSignal): Promise<RuntimeLike>;
}

const PROGRESS_INTERVAL_MS = 16;

/**
 * Forwards progress at most every 16 ms, but always on a phase change and when a phase completes.
 * `delivered` waits for the last forwarded call: across Comlink a callback runs asynchronously, and
 * 'ready' must reach the caller before load() resolves.
 */
function throttle(onProgress: ((p: LoadProgress) => void) | undefined) {
  let last: LoadProgress | undefined;
  let lastAt = 0;
  let lastCall: unknown;
  const report = (p: LoadProgress) => {
    const now = performance.now();
    const milestone = !last || p.phase !== last.phase || p.loadedBytes >= p.totalBytes;
    if (!milestone && now - lastAt < PROGRESS_INTERVAL_MS) return;
    last = p;
    lastAt = now;
    lastCall = onProgress?.(p);
  };
  return { report, delivered: async () => lastCall };
}

function abortedResult(): GenerateResult {
  return {
    text: '', tokens: [], finishReason: 'aborted', aborted: true,
    stats: { prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0, forwardPasses: 0 },
  };
}

export class RuntimeHost {
  private runtime: RuntimeLike | undefined;
  private gpu: Gpu | undefined;
  private lost: DeviceLostError | undefined;
  /** rejects with the DeviceLostError when the current device is lost; raced against every GPU operation */
  private lostRace: Promise<never> = new Promise(() => {});
  private loadRequest: LoadRequest | undefined;
  private loading: AbortController | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /** bumped by dispose() and reload(): generations started before stop between steps, queued ones never start */
  private epoch = 0;

  constructor(private readonly env: HostEnvironment) {}

  async load(request: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<EngineInfo> {
    this.loadRequest = request;
    const controller = new AbortController();
    this.loading = controller;
    try {
      const gpu = await this.env.gpu();
      this.watch(gpu);
      const progress = throttle(onProgress);
      const runtime = await Promise.race([this.env.load(gpu, request, progress.report, controller.signal), this.lostRace]);
      if (controller.signal.aborted) {
        runtime.dispose();
        throw controller.signal.reason;
      }
      this.runtime = runtime;
      await progress.delivered();
      return runtime.info;
    } catch (e) {
      // whatever an aborted load failed with (a fetch's DOMException, a reader error), report the abort
      throw controller.signal.aborted ? controller.signal.reason : e;
    } finally {
      if (this.loading === controller) this.loading = undefined;
    }
  }

  async cancelLoad(): Promise<void> {
    this.loading?.abort(new AbortError('loading the model was aborted', { model: describeModel(this.loadRequest) }));
  }

  /**
   * Drops the runtime and loads the same model again on a fresh device: the way back after a DeviceLostError.
   * Generations running or queued end as aborted first.
   */
  async reload(): Promise<EngineInfo> {
    const request = this.loadRequest;
    if (!request) throw new InvalidRequestError('reload: the engine was never loaded');
    this.epoch++;
    return this.enqueue(() => {
      this.release();
      return this.load(request);
    });
  }

  /** Queues a request; its events, then 'done' (or one error), arrive on `port`. Abort: post {abort: true}. */
  async generate(request: WireRequest, port: MessagePort): Promise<void> {
    let aborted = false;
    port.onmessage = (m: MessageEvent<ClientMessage>) => {
      if (m.data?.abort) aborted = true;
    };
    const epoch = this.epoch;
    const stop = () => aborted || epoch !== this.epoch;
    const post = (message: HostMessage) => port.postMessage(message);
    const batcher = new EventBatcher((events) => post({ events }));
    this.withRuntime((runtime) => {
      if (stop()) return Promise.resolve(abortedResult());
      const emit = (ev: GenerateEvent) => {
        if (ev.type !== 'done') batcher.push(ev);
      };
      return runtime.generate(request, emit, stop);
    }).then(
      (result) => batcher.push({ type: 'done', result }),
      (e: unknown) => {
        batcher.flush();
        post({ error: toWireError(e) });
      },
    );
  }

  async logits(ids: number[]): Promise<Float32Array> {
    return this.withRuntime((runtime) => runtime.logits(ids));
  }

  async tokenize(text: string): Promise<number[]> {
    return this.ready().tokenize(text);
  }

  async detokenize(ids: number[]): Promise<string> {
    return this.ready().detokenize(ids);
  }

  async applyChatTemplate(messages: ChatMessage[], tools?: ChatTool[]): Promise<string> {
    return this.ready().applyChatTemplate(messages, tools);
  }

  async kernelProfile(): Promise<KernelProfile> {
    return this.ready().kernelProfile();
  }

  /** Queued behind running requests: the next request prefills its whole prompt. */
  async resetCache(): Promise<void> {
    await this.withRuntime(async (runtime) => runtime.resetCache());
  }

  /** Stops a running generation between steps (it ends as aborted) and releases the model once it has. */
  async dispose(): Promise<void> {
    this.epoch++;
    await this.cancelLoad();
    await this.enqueue(async () => this.release());
  }

  private watch(gpu: Gpu): void {
    this.gpu = gpu;
    this.lost = undefined;
    this.lostRace = gpu.lost.then((error) => {
      if (this.gpu === gpu) this.lost = error;
      throw error;
    });
    this.lostRace.catch(() => undefined);
  }

  private release(): void {
    const runtime = this.runtime;
    this.runtime = undefined;
    this.gpu = undefined;
    this.lostRace = new Promise(() => {});
    runtime?.dispose();
  }

  private ready(): RuntimeLike {
    if (this.lost) throw this.lost;
    if (!this.runtime) throw new InvalidRequestError('the engine has no model loaded (it was disposed, or loading failed)');
    return this.runtime;
  }

  /** FIFO: each operation starts after the previous one settled, so requests never interleave on the GPU. */
  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.tail.then(operation);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** A queued GPU operation that fails with DeviceLostError as soon as the device is lost, even mid-flight. */
  private withRuntime<T>(operation: (runtime: RuntimeLike) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      const runtime = this.ready();
      const lostRace = this.lostRace;
      const running = operation(runtime);
      // when the loss wins the race, the operation's own later failure is already reported
      running.catch(() => undefined);
      try {
        return await Promise.race([running, lostRace]);
      } catch (e) {
        throw await lossOr(e, lostRace);
      }
    });
  }
}

/** How long a GPU failure waits for the device-lost notice that usually follows it. */
const LOSS_GRACE_MS = 100;

/** A WebGPU failure (e.g. a rejected mapAsync) while the device goes away is reported as the loss itself. */
async function lossOr(error: unknown, lostRace: Promise<never>): Promise<unknown> {
  if (error instanceof InferError) return error;
  const grace = new Promise<undefined>((resolve) => setTimeout(resolve, LOSS_GRACE_MS));
  return (await Promise.race([lostRace.catch((lost: DeviceLostError) => lost), grace])) ?? error;
}

function describeModel(request: LoadRequest | undefined): string {
  if (!request) return '';
  return typeof request.model === 'string' ? request.model : request.model.map((f) => f.name).join(', ');
}
