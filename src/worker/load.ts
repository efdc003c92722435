/** Loading a Runtime from engine options, with a memory estimate checked before any weight is read. */
import type { LoadProgress } from '../api/types';
import type { LoadRequest } from '../api/wire';
import type { Gpu } from '../gpu/device';
import { ResourceLimitError } from '../gpu/errors';
import { loadConfig } from '../model/config';
import type { ModelSource } from '../model/source';
import { estimateWeightBytes } from '../model/weights';
import { Runtime, type RuntimeOptions } from '../runtime/runtime';

const DEFAULT_CONTEXT = 2048;

function runtimeOptions(request: LoadRequest): RuntimeOptions {
  const { quantize, contextLength, maxResidentExperts, prefetchExperts, sparsity, ngrams, profile } = request;
  return { quantize, contextLength, maxResidentExperts, prefetchExperts, sparsity, ngrams, profile };
}

function size(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Weights (as stored or quantized) plus an f32 KV cache for the whole context. `memoryBytes` is what
 * the platform says the machine has; WebGPU reports no adapter memory size, so this is the best bound.
 */
async function checkMemory(source: ModelSource, request: LoadRequest, memoryBytes: number | undefined): Promise<void> {
  if (memoryBytes === undefined) return;
  const config = await loadConfig(source);
  const context = Math.min(request.contextLength ?? DEFAULT_CONTEXT, config.maxPositions);
  const kvBytes = config.layers * 2 * config.kvHeads * config.headDim * context * 4;
  const needed = estimateWeightBytes(config, request.quantize) + kvBytes;
  if (needed > memoryBytes) {
    throw new ResourceLimitError(
      `${source.describe}: the model needs about ${size(needed)} (weights plus a ${context}-token KV cache) but this device reports ${size(memoryBytes)}; try quantize: 'q4' or a shorter contextLength`,
      { file: 'config.json', neededBytes: needed, availableBytes: memoryBytes },
    );
  }
}

export async function loadRuntime(
  gpu: Gpu, source: ModelSource, request: LoadRequest, onProgress: (p: LoadProgress) => void, signal: AbortSignal, memoryBytes?: number,
): Promise<Runtime> {
  await checkMemory(source, request, memoryBytes);
  return Runtime.load(gpu, source, runtimeOptions(request), onProgress, signal);
}
