import type { MatrixFormat } from '../kernels/tensor';
import { GGML_BLOCKS, isGgmlFormat, QUANT_BLOCK } from '../kernels/tensor';
import { isMoeLayer, type ModelConfig } from './config';
import type { Dtype, StoredDtype } from './safetensors';

export type Quantize = 'q8' | 'q4';

/**
 * One GPU weight and the checkpoint tensors that fill it. Expert weights are several tensors
 * stacked along rows in expert order (part p fills rows p*partRows ..).
 */
export interface Destination {
  key: string;
  /** Vectors (norms, biases) are f32 buffers; matrices become WeightMatrix. */
  kind: 'vector' | 'matrix';
  /** HF tensor names, in stacking order. */
  parts: string[];
  partRows: number;
  cols: number;
  /** Eligible for q8/q4 (big matrices; not the embedding or routers). */
  quantizable: boolean;
  /**
   * Parts given GPU storage: all of them, except routed experts under an expert budget, where only the
   * first `gpuParts` experts get a GPU slot and every expert is kept in CPU memory.
   */
  gpuParts: number;
  /**
   * Column count whose alignment decides the storage format (default `cols`): the routed experts' gate, up and
   * down run in one kernel that needs one format, so they share the strictest alignment of the three.
   */
  alignCols?: number;
}

export interface WeightPlan {
  destinations: Destination[];
  /** HF tensor name -> its destination and part index. */
  byTensor: Map<string, { destination: Destination; part: number }>;
}

/** Rows of the destination's GPU matrix. */
export const rowsOf = (d: Destination) => d.partRows * d.gpuParts;

/** Which tensors a config needs and where they go; `residentExperts` (< experts) keeps the rest of each layer's experts off the GPU. */
export function planWeights(config: ModelConfig, residentExperts?: number): WeightPlan {
  const { hidden, heads, kvHeads, headDim, vocab, intermediate } = config;
  const destinations: Destination[] = [];
  const matrix = (key: string, parts: string[], partRows: number, cols: number, quantizable = true) =>
    destinations.push({ key, kind: 'matrix', parts, partRows, cols, quantizable, gpuParts: parts.length });
  const vector = (key: string, name: string, length: number) =>
    destinations.push({ key, kind: 'vector', parts: [name], partRows: 1, cols: length, quantizable: false, gpuParts: 1 });
  const expertAlign = (I: number) => ([hidden, I].every((c) => c % QUANT_BLOCK === 0) ? QUANT_BLOCK : [hidden, I].every((c) => c % 2 === 0) ? 2 : 1);
  const experts = (key: string, parts: string[], partRows: number, cols: number, alignCols: number) =>
    destinations.push({ key, kind: 'matrix', parts, partRows, cols, quantizable: true, gpuParts: Math.min(residentExperts ?? parts.length, parts.length), alignCols });

  matrix('embed', ['model.embed_tokens.weight'], vocab, hidden, false);
  vector('norm', 'model.norm.weight', hidden);
  if (!config.tieEmbeddings) matrix('lmHead', ['lm_head.weight'], vocab, hidden);
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}`;
    const key = `layers.${l}`;
    vector(`${key}.inputNorm`, `${p}.input_layernorm.weight`, hidden);
    vector(`${key}.postAttnNorm`, `${p}.post_attention_layernorm.weight`, hidden);
    matrix(`${key}.q`, [`${p}.self_attn.q_proj.weight`], heads * headDim, hidden);
    matrix(`${key}.k`, [`${p}.self_attn.k_proj.weight`], kvHeads * headDim, hidden);
    matrix(`${key}.v`, [`${p}.self_attn.v_proj.weight`], kvHeads * headDim, hidden);
    matrix(`${key}.o`, [`${p}.self_attn.o_proj.weight`], hidden, heads * headDim);
    if (config.attentionBias) {
      vector(`${key}.qBias`, `${p}.self_attn.q_proj.bias`, heads * headDim);
      vector(`${key}.kBias`, `${p}.self_attn.k_proj.bias`, kvHeads * headDim);
      vector(`${key}.vBias`, `${p}.self_attn.v_proj.bias`, kvHeads * headDim);
    }
    if (!isMoeLayer(config, l)) {
      matrix(`${key}.mlp.gate`, [`${p}.mlp.gate_proj.weight`], intermediate, hidden);
      matrix(`${key}.mlp.up`, [`${p}.mlp.up_proj.weight`], intermediate, hidden);
      matrix(`${key}.mlp.down`, [`${p}.mlp.down_proj.weight`], hidden, intermediate);
      continue;
    }
    const moe = config.moe!;
    const ids = Array.from({ length: moe.experts }, (_, e) => e);
    const I = moe.expertIntermediate;
    if (config.architecture === 'mixtral') {
      const x = `${p}.block_sparse_moe`;
      matrix(`${key}.moe.router`, [`${x}.gate.weight`], moe.experts, hidden, false);
      experts(`${key}.moe.gate`, ids.map((e) => `${x}.experts.${e}.w1.weight`), I, hidden, expertAlign(I));
      experts(`${key}.moe.up`, ids.map((e) => `${x}.experts.${e}.w3.weight`), I, hidden, expertAlign(I));
      experts(`${key}.moe.down`, ids.map((e) => `${x}.experts.${e}.w2.weight`), hidden, I, expertAlign(I));
      continue;
    }
    const x = `${p}.mlp`;
    matrix(`${key}.moe.router`, [`${x}.gate.weight`], moe.experts, hidden, false);
    experts(`${key}.moe.gate`, ids.map((e) => `${x}.experts.${e}.gate_proj.weight`), I, hidden, expertAlign(I));
    experts(`${key}.moe.up`, ids.map((e) => `${x}.experts.${e}.up_proj.weight`), I, hidden, expertAlign(I));
    experts(`${key}.moe.down`, ids.map((e) => `${x}.experts.${e}.down_proj.weight`), hidden, I, expertAlign(I));
    const S = moe.sharedExpertIntermediate;
    if (S) {
      matrix(`${key}.moe.shared.gate`, [`${x}.shared_expert.gate_proj.weight`], S, hidden);
      matrix(`${key}.moe.shared.up`, [`${x}.shared_expert.up_proj.weight`], S, hidden);
      matrix(`${key}.moe.shared.down`, [`${x}.shared_expert.down_proj.weight`], hidden, S);
      matrix(`${key}.moe.sharedGate`, [`${x}.shared_expert_gate.weight`], 1, hidden, false);
    }
  }
  const byTensor = new Map<string, { destination: Destination; part: number }>();
  for (const destination of destinations) destination.parts.forEach((name, part) => byTensor.set(name, { destination, part }));
  return { destinations, byTensor };
}

/** Storage format from the parts' dtypes (all known from the headers before any upload): 16-bit weights stay 16-bit. */
export function plannedFormat(d: Destination, dtypes: StoredDtype[], quantize?: Quantize): MatrixFormat {
  if (d.kind === 'vector') return 'f32';
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
  if (sparseMlp) {
    const downs = { ...plan, destinations: plan.destinations.filter((d) => d.key.endsWith('.mlp.down')) };
    bytes.gpu += planBytes(downs, dtypeOf, quantize).gpu;
  }
  return bytes;
}
