/**
 * The one Engine implementation. It talks to a RuntimeHost through a Transport: Comlink to a Worker in
 * the browser, or a direct reference in-thread and in Node. Requests are checked here before they cross.
 */
import type { RuntimeHost } from '../runtime/host';
import { AbortError, InferError, InvalidRequestError } from '../contract/errors';
import { chatCompletions } from './chat';
import { PortStream } from './stream';
import { validateEngineOptions, validatePrompt, validateRequest, validateTokenIds } from '../contract/validate';
import type { ChatMessage, ChatTool, Engine, EngineInfo, EngineOptions, GenerateEvent, GenerateRequest, GenerateResult, KernelProfile } from '../contract/types';
import type { LoadRequest, WireRequest } from '../contract/wire';

/** The host's methods as a client calls them (all asynchronous, so a Comlink remote fits too). */
export type HostApi = Pick<RuntimeHost,
  'load' | 'cancelLoad' | 'reload' | 'generate' | 'logits' | 'tokenize' | 'detokenize' | 'applyChatTemplate' | 'kernelProfile' | 'resetCache' | 'dispose'>;

export interface Transport {
  host: HostApi;
  /** marks a port to be moved, not copied, to the host */
  move(port: MessagePort): MessagePort;
  /** makes a callback callable from the host's side */
  callback<T extends (...args: never[]) => void>(f: T): T;
  /** ends the connection (terminates a Worker) */
  close(): void;
}

/** A host in this thread: arguments pass by reference. */
export function localTransport(host: HostApi): Transport {
  return { host, move: (port) => port, callback: (f) => f, close: () => undefined };
}

function modelName(model: EngineOptions['model']): string {
  if (typeof model !== 'string') return 'local-files';
  return model.split(/[\\/]/).filter(Boolean).pop() ?? model;
}

/** Only the fields the host reads cross the boundary (a caller's extra properties may not be cloneable). */
function wireRequest(r: GenerateRequest): WireRequest {
  const { prompt, maxTokens, strategy, stop, stopAtEos, frequencyPenalty, presencePenalty, repetitionPenalty, logitBias, logprobs, topLogprobs, responseFormat } = r;
  return { prompt, maxTokens, strategy, stop, stopAtEos, frequencyPenalty, presencePenalty, repetitionPenalty, logitBias, logprobs, topLogprobs, responseFormat } satisfies Record<keyof WireRequest, unknown>;
}

export class ClientEngine implements Engine {
  info!: EngineInfo;
  readonly chat: Engine['chat'];
  private disposed = false;

  private constructor(private readonly transport: Transport, readonly model: string) {
    this.chat = {
      completions: chatCompletions({
        model,
        info: () => this.info,
        applyChatTemplate: (messages: ChatMessage[], tools?: ChatTool[]) => this.host().applyChatTemplate(messages, tools),
        detokenize: (ids: number[]) => this.host().detokenize(ids),
        generate: (request: GenerateRequest) => this.generate(request),
      }),
    };
  }

  /** Loads the model into the host; on failure the transport is closed and the typed error rethrown. */
  static async open(transport: Transport, options: EngineOptions): Promise<ClientEngine> {
    try {
      validateEngineOptions(options);
      const { onProgress, signal } = options;
      // only the known fields cross to the host: an unknown extra one must not fail there as an uncloneable value
      const { model, revision, hubBase, quantize, contextLength, maxResidentExperts, prefetchExperts, scanWeights, sparsity, ngrams, profile, cache, stallTimeoutMs, expectedSha256 } = options;
      const request: LoadRequest = { model, revision, hubBase, quantize, contextLength, maxResidentExperts, prefetchExperts, scanWeights, sparsity, ngrams, profile, cache, stallTimeoutMs, expectedSha256 } satisfies Record<keyof LoadRequest, unknown>;
      if (signal?.aborted) throw new AbortError('loading the model was aborted before it started', { model: modelName(options.model) });
      const engine = new ClientEngine(transport, modelName(options.model));
      const cancel = () => void transport.host.cancelLoad();
      signal?.addEventListener('abort', cancel);
      try {
        engine.info = await transport.host.load(request, onProgress && transport.callback(onProgress));
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
      return engine;
    } catch (e) {
      transport.close();
      throw e;
    }
  }

  generate(request: GenerateRequest): AsyncIterable<GenerateEvent> {
    return this.stream(request);
  }

  async complete(request: GenerateRequest): Promise<GenerateResult> {
    for await (const ev of this.generate(request)) if (ev.type === 'done') return ev.result;
    throw new InferError('the generation stream ended without a done event');
  }

  async logits(ids: number[]): Promise<Float32Array> {
    if (!Array.isArray(ids)) throw new InvalidRequestError('ids: must be an array of token ids', { field: 'ids' });
    validatePrompt('ids', ids, this.info);
    return this.host().logits(ids);
  }

  async tokenize(text: string): Promise<number[]> {
    if (typeof text !== 'string') throw new InvalidRequestError('text: must be a string', { field: 'text' });
    return this.host().tokenize(text);
  }

  async detokenize(ids: number[]): Promise<string> {
    validateTokenIds('ids', ids, this.info);
    return this.host().detokenize(ids);
  }

  async kernelProfile(): Promise<KernelProfile> {
    return this.host().kernelProfile();
  }

  async resetCache(): Promise<void> {
    await this.host().resetCache();
  }

  async reload(): Promise<void> {
    this.info = await this.host().reload();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.transport.host.dispose();
    } finally {
      this.transport.close();
    }
  }

  /** A disposed engine's Worker is gone: a call would never be answered, so refuse it here. */
  private host(): HostApi {
    if (this.disposed) throw new InvalidRequestError(`the engine for ${this.model} has been disposed; create a new one`);
    return this.transport.host;
  }

  private async *stream(request: GenerateRequest): AsyncGenerator<GenerateEvent> {
    validateRequest(request, this.info);
    const { port1, port2 } = new MessageChannel();
    const stream = new PortStream(port1);
    const abort = () => stream.abort();
    request.signal?.addEventListener('abort', abort);
    try {
      await this.host().generate(wireRequest(request), this.transport.move(port2));
      if (request.signal?.aborted) abort();
      yield* stream.events();
    } finally {
      request.signal?.removeEventListener('abort', abort);
      // a consumer that stops reading early must not leave the host generating
      stream.abort();
    }
  }
}
