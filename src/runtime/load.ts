/** Loading a Runtime from engine options, with a memory estimate checked before any weight is read. */
import type { LoadProgress } from '../contract/types';
import type { LoadRequest } from '../contract/wire';
import type { Gpu } from '../gpu/device';
import { ResourceLimitError } from '../contract/errors';
import { loadConfig, type ModelConfig } from '../model/config';
import { residentExperts } from '../model/expert_cache';
import { kvCacheBytes, kvSlots } from '../model/kv_cache';
import { adapterKvBytes } from '../model/adapter';
import type { ModelSource } from '../model/source';
import { estimateWeightBytes } from '../model/weights';
import type { EstimateOptions } from '../model/weight_plan';
import { isGgufSource } from '../model/gguf/source';
import { contextTokens, passRows, Runtime, type RuntimeOptions } from './runtime';

function runtimeOptions(request: LoadRequest): RuntimeOptions {
  const { quantize, contextLength, maxResidentExperts, prefetchExperts, scanWeights, sparsity, ngrams, profile } = request;
  return { quantize, contextLength, maxResidentExperts, prefetchExperts, scanWeights, sparsity, ngrams, profile };
}

function size(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Bytes a load takes, by where they live. */
export interface MemoryEstimate {
  /** KV cache positions */
  context: number;
  /** weight buffers on the GPU: every weight, or under an expert budget the resident experts' slots only */
  gpuWeights: number;
  /** CPU copies of every routed expert of the layers an expert budget applies to (0 without a budget) */
  hostExperts: number;
  /** f32 KV cache for `context` positions, on the GPU (the adapters' one-layer caches included) */
  kvCache: number;
  total: number;
}

/**
 * What loading `config` with these options takes: weights (as stored or quantized) and the KV cache on the GPU,
 * plus, under an expert budget, the CPU copies of all experts. The sum is checked against the machine's memory:
 * WebGPU reports no adapter memory size, and on unified-memory devices the GPU buffers come out of that memory
 * too, so a budget moves no bytes off the machine; it adds the resident slots to the full CPU copy.
 */
export function estimateMemory(config: ModelConfig, request: Pick<LoadRequest, 'quantize' | 'contextLength' | 'maxResidentExperts' | 'sparsity'>, dtype?: EstimateOptions['dtype']): MemoryEstimate {
  const context = contextTokens(config, request.contextLength);
  const weights = estimateWeightBytes(config, {
    dtype,
    quantize: request.quantize, residentExperts: residentExperts(config, request.maxResidentExperts), sparseMlp: request.sparsity !== undefined,
  });
  const kvCache = kvCacheBytes(config.kvHeads, config.headDim, kvSlots(config, context, passRows(config.vocab))) + adapterKvBytes(config, context);
  return { context, gpuWeights: weights.gpu, hostExperts: weights.host, kvCache, total: weights.gpu + weights.host + kvCache };
}

/** `memoryBytes` is what the platform says the machine has (undefined: no check). */
async function checkMemory(source: ModelSource, request: LoadRequest, memoryBytes: number | undefined): Promise<void> {
  if (memoryBytes === undefined) return;
  // a GGUF header gives every tensor's storage; a folder's weights are estimated at 16 bits
  const dtype = isGgufSource(source) ? await source.tensorDtypes() : undefined;
  const estimate = estimateMemory(await loadConfig(source), request, dtype && ((name) => dtype.get(name) ?? 'F16'));
  if (estimate.total > memoryBytes) {
    const copies = estimate.hostExperts > 0 ? `, ${size(estimate.hostExperts)} of expert copies in CPU memory` : '';
    throw new ResourceLimitError(
      `${source.describe}: the model needs about ${size(estimate.total)} (${size(estimate.gpuWeights)} of GPU weights${copies} and a ${estimate.context}-token KV cache of ${size(estimate.kvCache)}) but this device reports ${size(memoryBytes)}; try quantize: 'q4' or a shorter contextLength`,
      { file: 'config.json', neededBytes: estimate.total, availableBytes: memoryBytes },
    );
  }
}

export async function loadRuntime(
  gpu: Gpu, source: ModelSource, request: LoadRequest, onProgress: (p: LoadProgress) => void, signal: AbortSignal, memoryBytes?: number,
): Promise<Runtime> {
  await checkMemory(source, request, memoryBytes);
  return Runtime.load(gpu, source, runtimeOptions(request), onProgress, signal);
}
