/**
 * The demo's one engine: loading (with progress), running requests, and telling the views what happened.
 * Views never hold an Engine of their own, so reloading after a device loss updates every view at once.
 */
import { createEngine, type Engine, type EngineInfo, type GenerateEvent, type GenerateRequest, type GenerateResult, type LoadProgress } from '../src/browser/index';

export type ModelSource = { kind: 'url'; url: string } | { kind: 'files'; files: File[] };

export interface LoadSettings {
  quantize?: 'q8' | 'q4';
  /** MoE models: experts per layer kept on the GPU (the rest stream in from CPU memory, with prefetch) */
  maxResidentExperts?: number;
  profile: boolean;
}

/** A finished request and the label of the strategy that produced it, for the stats panel. */
export interface RunRecord {
  label: string;
  result: GenerateResult;
}

type Listener<T> = (value: T) => void;

export class Session {
  private current: Engine | undefined;
  private lastLoad: { source: ModelSource; settings: LoadSettings } | undefined;
  private readonly engineListeners: Listener<EngineInfo | undefined>[] = [];
  private readonly runListeners: Listener<RunRecord>[] = [];
  private readonly errorListeners: Listener<unknown>[] = [];

  get engine(): Engine | undefined {
    return this.current;
  }

  get profiling(): boolean {
    return this.lastLoad?.settings.profile ?? false;
  }

  onEngine(listener: Listener<EngineInfo | undefined>): void {
    this.engineListeners.push(listener);
  }

  onRun(listener: Listener<RunRecord>): void {
    this.runListeners.push(listener);
  }

  onError(listener: Listener<unknown>): void {
    this.errorListeners.push(listener);
  }

  /** Disposes the current engine and loads `source`; progress arrives through `onProgress`. */
  async load(source: ModelSource, settings: LoadSettings, onProgress: (p: LoadProgress) => void, signal: AbortSignal): Promise<EngineInfo> {
    await this.unload();
    this.lastLoad = { source, settings };
    const engine = await createEngine({
      model: source.kind === 'url' ? source.url : source.files,
      ...(settings.quantize ? { quantize: settings.quantize } : {}),
      ...(settings.maxResidentExperts ? { maxResidentExperts: settings.maxResidentExperts } : {}),
      profile: settings.profile,
      onProgress,
      signal,
    });
    this.current = engine;
    for (const listener of this.engineListeners) listener(engine.info);
    return engine.info;
  }

  /** Loads the last model again on a fresh device (after a device loss). */
  async reload(onProgress: (p: LoadProgress) => void, signal: AbortSignal): Promise<EngineInfo> {
    if (!this.lastLoad) throw new Error('no model has been loaded yet');
    return this.load(this.lastLoad.source, this.lastLoad.settings, onProgress, signal);
  }

  async unload(): Promise<void> {
    const engine = this.current;
    if (!engine) return;
    this.current = undefined;
    for (const listener of this.engineListeners) listener(undefined);
    await engine.dispose().catch(() => undefined);
  }

  /**
   * Streams one request. The final 'done' result is also published to the run listeners;
   * errors are published to the error listeners and rethrown.
   */
  async *run(label: string, request: GenerateRequest): AsyncGenerator<GenerateEvent> {
    const engine = this.current;
    if (!engine) throw new Error('load a model first');
    try {
      for await (const event of engine.generate(request)) {
        if (event.type === 'done') for (const listener of this.runListeners) listener({ label, result: event.result });
        yield event;
      }
    } catch (e) {
      for (const listener of this.errorListeners) listener(e);
      throw e;
    }
  }
}
