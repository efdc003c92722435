/** `webgpu-infer/node`: the same Engine in-process, on WebGPU from the `webgpu` package (Dawn). */
import { totalmem } from 'node:os';
import { ClientEngine, localTransport } from '../api/engine';
import type { Engine, EngineOptions } from '../api/types';
import { InvalidRequestError } from '../gpu/errors';
import { RuntimeHost } from '../worker/host';
import { loadRuntime } from '../worker/load';
import { urlSource } from '../model/source';
import { nodeGpu } from './gpu';
import { directorySource } from './source';

export type * from '../api/types';
export * from '../gpu/errors';

/** Loads the Hugging Face model folder at `options.model`: a directory path, or an http(s) URL of a folder. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const host = new RuntimeHost({
    gpu: nodeGpu,
    load: (gpu, request, onProgress, signal) => {
      if (typeof request.model !== 'string') throw new InvalidRequestError('model: in Node, pass a directory path or an http(s) URL', { field: 'model' });
      // an http(s) URL is fetched like the browser engine does (without its cache); anything else is a directory
      const source = /^https?:\/\//i.test(request.model) ? urlSource(request.model, { signal }) : directorySource(request.model);
      return loadRuntime(gpu, source, request, onProgress, signal, totalmem());
    },
  });
  return ClientEngine.open(localTransport(host), options);
}
