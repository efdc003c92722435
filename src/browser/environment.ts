/** Where a browser engine (Worker or page) gets its GPU and model files. */
import { commitStored, downloadWeights, forgetStored, modelFetch, type ModelFetchOptions } from './cache';
import { requestGpu } from '../gpu/device';
import { hubError, hubFolderUrl, hubSource, isHubId } from '../model/hub';
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
    if (typeof request.model !== 'string') {
      // dropped files: a .gguf among them (the first split's name, for split files) is the model
      const gguf = request.model.map((f) => f.name).filter(isGgufName).sort()[0];
      const files = fileListSource(request.model);
      return loadRuntime(gpu, gguf ? new GgufSource(files, ggufFileNames(gguf), signal) : files, request, onProgress, signal, deviceMemoryBytes());
    }
    const { model, revision } = request;
    // a .gguf URL: the folder it is in serves the file (and its splits)
    const ggufUrl = isGgufName(model) ? new URL(model, location.href) : undefined;
    const gguf = ggufUrl && decodeURIComponent(ggufUrl.pathname.split('/').pop()!);
    const hub = !ggufUrl && isHubId(model) ? { repo: model, revision, hubBase: request.hubBase } : undefined;
    const base = hub ? hubFolderUrl(hub) : ggufUrl ? new URL('./', ggufUrl).href : new URL(model.endsWith('/') ? model : `${model}/`, location.href).href;
    const fetchOptions: ModelFetchOptions = {
      cache: request.cache ?? true,
      expectedSha256: request.expectedSha256,
      network: networkPolicy(request.stallTimeoutMs),
      stored: [],
      onCacheRefused: (file, e) => onProgress({
        phase: 'download', loadedBytes: 0, totalBytes: 0, file,
        warning: `the browser refused to cache ${file} (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}); loading goes on without caching`,
      }),
    };
    try {
      if (fetchOptions.cache) {
        await downloadWeights(base, fetchOptions, onProgress, signal, gguf ? ggufFileNames(gguf) : undefined).catch((e: unknown) => {
          throw hub ? hubError(hub, e) : e;
        });
      }
      const fetch = modelFetch(fetchOptions);
      const folder: ModelSource = hub ? hubSource(hub, { fetch, signal }) : urlSource(base, { fetch, signal });
      const source = gguf ? new GgufSource(folder, ggufFileNames(gguf), signal) : folder;
      const runtime = await loadRuntime(gpu, source, request, onProgress, signal, deviceMemoryBytes());
      await commitStored(fetchOptions.stored!);
      return runtime;
    } catch (e) {
      // only what a load validated stays cached: a failed load leaves no trace
      await forgetStored(fetchOptions.stored!);
      throw e;
    }
  },
};
