/** `webgpu-infer` in the browser: createEngine() runs the model in a module Worker (or in-thread with worker: false). */
import { RuntimeHost } from '../runtime/host';
import { InferError } from '../contract/errors';
import { comlinkTransport } from './comlink';
import { ClientEngine, localTransport, type Transport } from '../client/engine';
import type { Engine, EngineOptions } from '../contract/types';
import { isHubId } from '../contract/validate';

export type * from '../contract/types';
export * from '../contract/errors';
export { listCachedModels, deleteCachedModel, MODEL_CACHE, type CachedModel } from './cache';

function workerTransport(): Transport {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webgpu-infer' });
  const failure = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => reject(new InferError(`the engine's Worker failed: ${e.message || 'it could not be started'}`, { file: e.filename, line: e.lineno })));
  });
  return comlinkTransport(worker, () => worker.terminate(), failure);
}

/**
 * A relative model URL (or hub base) is the page's, not the worker script's (which lives wherever the app's bundler
 * put it). A hub id stays as it is.
 */
function pageRelative(options: EngineOptions): EngineOptions {
  if (typeof options?.model !== 'string' || options.model === '') return options; // validated by ClientEngine.open
  const resolve = (url: string) => new URL(url, globalThis.document?.baseURI ?? location.href).href;
  if (!isHubId(options.model)) return { ...options, model: resolve(options.model) };
  return typeof options.hubBase === 'string' && options.hubBase !== '' ? { ...options, hubBase: resolve(options.hubBase) } : options;
}

/** Loads a model (a URL of a Hugging Face folder, or dropped files) and resolves when it is ready to generate. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  options = pageRelative(options);
  // the in-thread engine loads the runtime code only when asked for, keeping it out of the page's bundle otherwise
  const transport = options?.worker === false // options are validated by ClientEngine.open
    ? localTransport(new RuntimeHost((await import('./environment')).browserEnvironment))
    : workerTransport();
  return ClientEngine.open(transport, options);
}
