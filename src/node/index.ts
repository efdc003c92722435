/** `webgpu-infer/node`: the same Engine in-process, on WebGPU from the `webgpu` package (Dawn). */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { ClientEngine, localTransport } from '../client/engine';
import type { Engine, EngineOptions } from '../contract/types';
import { InvalidRequestError } from '../contract/errors';
import { RuntimeHost } from '../runtime/host';
import { loadRuntime } from '../runtime/load';
import { urlSource } from '../model/source';
import { networkPolicy } from '../model/network';
import { nodeGpu } from './gpu';
import { basename, dirname } from 'node:path';
import { GgufSource, ggufFileNames, isGgufName } from '../model/gguf/source';
import { directorySource } from './source';
import { hubSource, isHubId } from '../model/hub';

export type * from '../contract/types';
export * from '../contract/errors';

/**
 * Loads the Hugging Face model folder at `options.model`: a directory path, an http(s) URL of a folder, or a hub id
 * (`owner/name`); or a `.gguf` file (path or URL; the first file of a split model).
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const host = new RuntimeHost({
    gpu: nodeGpu,
    load: (gpu, request, onProgress, signal) => {
      const { model } = request;
      if (typeof model !== 'string') throw new InvalidRequestError('model: in Node, pass a directory path, an http(s) URL or a hub id', { field: 'model' });
      // an http(s) URL is fetched like the browser engine does (without its cache); an existing directory wins over a hub id
      const network = networkPolicy(request.stallTimeoutMs);
      const hub = { repo: model, revision: request.revision, hubBase: request.hubBase };
      const url = /^https?:\/\//i.test(model);
      if (isGgufName(model)) {
        const folder = url ? urlSource(new URL('./', model).href, { signal, network }) : directorySource(dirname(model));
        const name = url ? decodeURIComponent(new URL(model).pathname.split('/').pop()!) : basename(model);
        return loadRuntime(gpu, new GgufSource(folder, ggufFileNames(name), signal), request, onProgress, signal, totalmem());
      }
      const source = url ? urlSource(model, { signal, network })
        : !existsSync(model) && isHubId(model) ? hubSource(hub, { signal, network })
        : directorySource(model);
      return loadRuntime(gpu, source, request, onProgress, signal, totalmem());
    },
  });
  return ClientEngine.open(localTransport(host), options);
}
