import type { MatrixFormat } from '../kernels/tensor';
import { GGML_BLOCKS, isGgmlFormat, QUANT_BLOCK } from '../kernels/tensor';
import type { ModelConfig } from './config';
import { familyOf } from './families';
import type { TensorSpec } from './family';
import { adapterTensors, draftVocabTensors } from './adapter';
import type { Dtype, StoredDtype } from './safetensors';

export type Quantize = 'q8' | 'q4';

/** One GPU weight and the checkpoint tensors that fill it (a family's TensorSpec placed on the GPU). */
export interface Destination extends TensorSpec {
  /**
   * Parts given GPU storage: all of them, except routed experts under an expert budget, where only the
   * first `gpuParts` experts get a GPU slot and every expert is kept in CPU memory.
   */
  gpuParts: number;
}

export interface WeightPlan {
  destinations: Destination[];
  /** HF tensor name -> its destinations and part index (several when a fused tensor is split by rows). */
  byTensor: Map<string, { destination: Destination; part: number }[]>;
}

/** Rows of the destination's GPU matrix. */
export const rowsOf = (d: Destination) => d.partRows * d.gpuParts;

/** Every tensor a checkpoint with this config holds: its family's schema, then its adapters' and draft vocabulary's (adapter file). */
export function checkpointTensors(config: ModelConfig): TensorSpec[] {
  return [...familyOf(config).tensors(config), ...adapterTensors(config), ...draftVocabTensors(config)];
}

/** Which tensors a config needs (checkpointTensors) and where they go; `residentExperts` (< experts) keeps the rest of each layer's experts off the GPU. */
export function planWeights(config: ModelConfig, residentExperts?: number): WeightPlan {
  const destinations = checkpointTensors(config).map((t): Destination => ({
    ...t, gpuParts: t.experts ? Math.min(residentExperts ?? t.parts.length, t.parts.length) : t.parts.length,
  }));
  const byTensor = new Map<string, { destination: Destination; part: number }[]>();
  for (const destination of destinations) destination.parts.forEach((name, part) => byTensor.set(name, [...(byTensor.get(name) ?? []), { destination, part }]));
  return { destinations, byTensor };
}

/** Parameters of a checkpoint with this config, from its tensor schema (a tied embedding counted once; adapters included, token ids not). */
export function parameterCount(config: ModelConfig): number {
  return checkpointTensors(config).reduce((n, t) => n + (t.kind === 'ids' ? 0 : t.parts.length * t.partRows * t.cols), 0);
}

/** Storage format from the parts' dtypes (all known from the headers before any upload): 16-bit weights stay 16-bit. */
export function plannedFormat(d: Destination, dtypes: StoredDtype[], quantize?: Quantize): MatrixFormat {
  if (d.kind !== 'matrix') return 'f32'; // f32 vectors, u32 ids: 4 bytes an entry
  // GGUF blocks are computed as stored (never requantized); checkTensors keeps them to single matrices
  if (isGgmlFormat(dtypes[0])) return dtypes[0];
  const cols = d.alignCols ?? d.cols;
  if (quantize && d.quantizable && cols % QUANT_BLOCK === 0) return quantize;
  if (cols % 2 !== 0) return 'f32';
  if (dtypes.every((t) => t === 'F16')) return 'f16';
  if (dtypes.every((t) => t === 'BF16')) return 'bf16';
  return 'f32'; // F32, or parts of mixed dtypes
}

/** Bytes of the data buffer and the scales buffer. */
export function formatBytes(format: MatrixFormat, rows: number, cols: number): { data: number; scales: number } {
  const n = rows * cols;
  const scales = (n / QUANT_BLOCK) * 4;
  if (isGgmlFormat(format)) return { data: (n / GGML_BLOCKS[format].elements) * GGML_BLOCKS[format].bytes, scales: 0 };
  switch (format) {
    case 'f32': return { data: 4 * n, scales: 0 };
    case 'f16': case 'bf16': return { data: 2 * n, scales: 0 };
    case 'q8': return { data: n, scales };
    case 'q4': return { data: n / 2, scales };
  }
}

/** The LM head's destination: the embedding when tied. */
export function headDestination(plan: WeightPlan, config: ModelConfig): Destination {
  return plan.destinations.find((d) => d.key === (config.tieEmbeddings ? 'embed' : 'lmHead'))!;
}

/**
 * GPU bytes the loader adds for a draft vocabulary of N tokens (model/draft_vocab.ts) beside its ids: the draft
 * head [N, hidden] in the head's format, and the rank of every token (u32 [vocab]).
 */
export function draftVocabBytes(config: ModelConfig, headFormat: MatrixFormat): number {
  const n = config.selfSpeculative?.draftVocabSize;
  if (!n) return 0;
  const head = formatBytes(headFormat, n, config.hidden);
  return head.data + head.scales + 4 * config.vocab;
}

/** Bytes a plan's weights take: in GPU buffers, and in CPU memory (every routed expert of a layer with an expert budget). */
export interface WeightBytes {
  gpu: number;
  host: number;
}

/** Bytes of all weights of a plan, given each tensor's dtype. */
export function planBytes(plan: WeightPlan, dtypeOf: (tensor: string) => StoredDtype, quantize?: Quantize): WeightBytes {
  const total = { gpu: 0, host: 0 };
  for (const d of plan.destinations) {
    const format = plannedFormat(d, d.parts.map(dtypeOf), quantize);
    const onGpu = formatBytes(format, rowsOf(d), d.cols);
    total.gpu += onGpu.data + onGpu.scales;
    if (d.gpuParts === d.parts.length) continue;
    const all = formatBytes(format, d.partRows * d.parts.length, d.cols);
    total.host += all.data + all.scales;
  }
  return total;
}

export interface EstimateOptions {
  quantize?: Quantize;
  /** checkpoint storage (default 16-bit), or each tensor's when known (GGUF headers) */
  dtype?: Dtype | ((tensor: string) => StoredDtype);
  /** expert budget as the loader applies it (routed experts per layer given GPU storage; undefined = all) */
  residentExperts?: number;
  /** the activation-sparse MLP is on: it keeps a transposed copy of every dense W_down, in the same format */
  sparseMlp?: boolean;
}

/** Memory the weights of `config` take once loaded. */
export function estimateWeightBytes(config: ModelConfig, { quantize, dtype = 'F16', residentExperts, sparseMlp = false }: EstimateOptions = {}): WeightBytes {
  const plan = planWeights(config, residentExperts);
  const dtypeOf = typeof dtype === 'function' ? dtype : () => dtype;
  const bytes = planBytes(plan, dtypeOf, quantize);
  const head = headDestination(plan, config);
  bytes.gpu += draftVocabBytes(config, plannedFormat(head, head.parts.map(dtypeOf), quantize));
  if (sparseMlp) {
    const downs = { ...plan, destinations: plan.destinations.filter((d) => d.key.endsWith('.mlp.down')) };
    bytes.gpu += planBytes(downs, dtypeOf, quantize).gpu;
  }
  return bytes;
}
