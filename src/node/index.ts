/** `webgpu-infer/node`: the same Engine in-process, on WebGPU from the `webgpu` package (Dawn). */
import { totalmem } from 'node:os';
import { ClientEngine, localTransport } from '../client/engine';
import type { Engine, EngineOptions } from '../contract/types';
import { InvalidRequestError } from '../contract/errors';
import { RuntimeHost } from '../runtime/host';
import { loadRuntime } from '../runtime/load';
import { nodeGpu } from './gpu';
import { basename, dirname } from 'node:path';
import { GgufSource, ggufFileNames, isGgufName } from '../model/gguf/source';
import { directorySource } from './source';

export type * from '../contract/types';
export * from '../contract/errors';

/** Loads the Hugging Face model folder at `options.model` (a directory path), or a `.gguf` file (the first of a split model). */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const host = new RuntimeHost({
    gpu: nodeGpu,
    load: (gpu, request, onProgress, signal) => {
      if (typeof request.model !== 'string') throw new InvalidRequestError('model: in Node, pass a directory path or a .gguf file path', { field: 'model' });
      const source = isGgufName(request.model)
        ? new GgufSource(directorySource(dirname(request.model)), ggufFileNames(basename(request.model)), signal)
        : directorySource(request.model);
      return loadRuntime(gpu, source, request, onProgress, signal, totalmem());
    },
  });
  return ClientEngine.open(localTransport(host), options);
}
