/** `webgpu-infer/node`: the same Engine in-process, on WebGPU from the `webgpu` package (Dawn). */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { ClientEngine, localTransport } from '../api/engine';
import type { Engine, EngineOptions } from '../api/types';
import { InvalidRequestError } from '../gpu/errors';
import { RuntimeHost } from '../worker/host';
import { loadRuntime } from '../worker/load';
import { nodeGpu } from './gpu';
import { directorySource } from './source';
import { hubSource, isHubId } from '../model/hub';

export type * from '../api/types';
export * from '../gpu/errors';

/** Loads the Hugging Face model folder at `options.model`: a directory path, else a hub id (`owner/name`). */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const host = new RuntimeHost({
    gpu: nodeGpu,
    load: (gpu, request, onProgress, signal) => {
      const { model } = request;
      if (typeof model !== 'string') throw new InvalidRequestError('model: in Node, pass a directory path or a hub id', { field: 'model' });
      const source = !existsSync(model) && isHubId(model) ? hubSource({ repo: model, revision: request.revision, hubBase: request.hubBase }, { signal }) : directorySource(model);
      return loadRuntime(gpu, source, request, onProgress, signal, totalmem());
    },
  });
  return ClientEngine.open(localTransport(host), options);
}
