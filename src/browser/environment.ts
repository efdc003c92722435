/** Where a browser engine (Worker or page) gets its GPU and model files. */
import { downloadWeights, modelFetch, type ModelFetchOptions } from './cache';
import { requestGpu } from '../gpu/device';
import { hubFolderUrl, hubSource, isHubId } from '../model/hub';
import { fileListSource, urlSource, type ModelSource } from '../model/source';
import { GgufSource, ggufFileNames, isGgufName } from '../model/gguf/source';
import { networkPolicy } from '../model/network';
import type { HostEnvironment } from '../runtime/host';
import { loadRuntime } from '../runtime/load';

/** navigator.deviceMemory (GiB, Chromium) bounds what a model may take; absent elsewhere. */
function deviceMemoryBytes(): number | undefined {
  const gib = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return gib ? gib * 2 ** 30 : undefined;
}

export const browserEnvironment: HostEnvironment = {
  gpu: () => requestGpu(navigator.gpu),
  async load(gpu, request, onProgress, signal) {
    let source: ModelSource;
    // a .gguf model: the file's name (the first split's, for split files); the folder it is in serves its files
    let gguf: string | undefined;
    if (typeof request.model === 'string') {
      const { model, revision } = request;
      const ggufUrl = isGgufName(model) ? new URL(model, location.href) : undefined;
      if (ggufUrl) gguf = decodeURIComponent(ggufUrl.pathname.split('/').pop()!);
      const hub = !ggufUrl && isHubId(model) ? { repo: model, revision, hubBase: request.hubBase && new URL(request.hubBase, location.href).href } : undefined;
      const base = hub ? hubFolderUrl(hub) : ggufUrl ? new URL('./', ggufUrl).href : new URL(model.endsWith('/') ? model : `${model}/`, location.href).href;
      const fetchOptions: ModelFetchOptions = {
        cache: request.cache ?? true,
        expectedSha256: request.expectedSha256,
        network: networkPolicy(request.stallTimeoutMs),
        onCacheRefused: (file, e) => onProgress({
          phase: 'download', loadedBytes: 0, totalBytes: 0, file,
          warning: `the browser refused to cache ${file} (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}); loading goes on without caching`,
        }),
      };
      if (fetchOptions.cache) await downloadWeights(base, fetchOptions, onProgress, signal, gguf ? ggufFileNames(gguf) : undefined);
      const fetch = modelFetch(fetchOptions);
      source = hub ? hubSource(hub, { fetch, signal }) : urlSource(base, { fetch, signal });
    } else {
      gguf = request.model.map((f) => f.name).filter(isGgufName).sort()[0];
      source = fileListSource(request.model);
    }
    if (gguf) source = new GgufSource(source, ggufFileNames(gguf), signal);
    return loadRuntime(gpu, source, request, onProgress, signal, deviceMemoryBytes());
  },
};
