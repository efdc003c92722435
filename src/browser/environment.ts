/** Where a browser engine (Worker or page) gets its GPU and model files. */
import { downloadWeights, modelFetch } from './cache';
import { requestGpu } from '../gpu/device';
import { fileListSource, urlSource, type ModelSource } from '../model/source';
import { GgufSource, ggufFileNames, isGgufName } from '../model/gguf/source';
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
    // a .gguf model: the file's name (the first split's, for split files) and the folder it is in
    let gguf: string | undefined;
    if (typeof request.model === 'string') {
      const url = new URL(request.model, location.href);
      if (isGgufName(url.pathname)) gguf = decodeURIComponent(url.pathname.split('/').pop()!);
      const base = gguf ? new URL('./', url).href : new URL(request.model.endsWith('/') ? request.model : `${request.model}/`, location.href).href;
      const fetchOptions = { cache: request.cache ?? true, expectedSha256: request.expectedSha256 };
      if (fetchOptions.cache) await downloadWeights(base, fetchOptions, onProgress, signal, gguf ? ggufFileNames(gguf) : undefined);
      source = urlSource(base, { fetch: modelFetch(fetchOptions), signal });
    } else {
      gguf = request.model.map((f) => f.name).filter(isGgufName).sort()[0];
      source = fileListSource(request.model);
    }
    if (gguf) source = new GgufSource(source, ggufFileNames(gguf), signal);
    return loadRuntime(gpu, source, request, onProgress, signal, deviceMemoryBytes());
  },
};
