import { UnsupportedModelError } from '../../contract/errors';
import type { Metadata } from './config';
import type { GgufTensorInfo } from './header';

/**
 * GGUF architectures (llama.cpp's `general.architecture` names) and how each maps onto a Hugging Face family:
 * the class, the config.json fields its `{arch}.*` metadata and tensors give beyond the common ones, and the
 * storage conventions of llama.cpp's converter for it.
 */

/** What the mapping reads: the metadata, every tensor's info, and the values of the small factor tensors. */
export interface GgufModelView {
  meta: Metadata;
  /** `{arch}.{k}` */
  key(k: string): string;
  tensors: readonly GgufTensorInfo[];
  has(tensor: string): boolean;
  /** values of rope_freqs / rope_factors_* tensors (read before the config is made) */
  factors: ReadonlyMap<string, number[]>;
}

export interface GgufArchitecture {
  /** the HF class: llama files with experts are Mixtral, with a sliding window Mistral */
  hf(m: GgufModelView): string;
  /** llama.cpp's converter reorders q/k rows for interleaved RoPE (llama, mixtral) */
  interleavedQk: boolean;
  /** Gemma: the converter stores every `*norm.weight` as 1 + w (llama.cpp then multiplies by it plainly) */
  normsStoreOnePlusW?: boolean;
  /** config.json fields beyond the common ones */
  config?(m: GgufModelView): Record<string, unknown>;
}

/** Tensors whose values the config needs: per-frequency RoPE divisors. */
export const FACTOR_TENSORS = ['rope_freqs.weight', 'rope_factors_short.weight', 'rope_factors_long.weight'];

const optional = (m: GgufModelView, k: string): number | undefined => (m.meta.has(m.key(k)) ? m.meta.number(m.key(k)) : undefined);

/**
 * Experts: count, top-k, width (`expert_feed_forward_length`, llama's `feed_forward_length` for Mixtral) and the
 * layers without a router, which run a dense MLP (llama.cpp's own files have none; Qwen's mlp_only_layers).
 */
function experts(m: GgufModelView, perExpert: string): Record<string, unknown> {
  const layers = m.meta.number(m.key('block_count'));
  const dense = Array.from({ length: layers }, (_, l) => l).filter((l) => !m.has(`blk.${l}.ffn_gate_inp.weight`));
  return {
    num_experts_per_tok: m.meta.number(m.key('expert_used_count')),
    moe_intermediate_size: m.meta.number(m.key(perExpert)),
    decoder_sparse_step: 1,
    mlp_only_layers: dense,
  };
}

/** Llama 3.1+ scaling as the converter precomputes it: one divisor per frequency in rope_freqs. */
const ropeFreqs = (m: GgufModelView) => (m.factors.has('rope_freqs.weight') ? { rope_scaling: { rope_type: 'divisors', divisors: m.factors.get('rope_freqs.weight') } } : {});

const slidingWindow = (m: GgufModelView) => optional(m, 'attention.sliding_window') ?? 0;

/** Gemma's soft-caps where the file has them (absent: the family's defaults, as llama.cpp's). */
const softcaps = (m: GgufModelView) => Object.fromEntries(['attn_logit_softcapping', 'final_logit_softcapping'].flatMap((k) => (m.meta.has(m.key(k)) ? [[k, m.meta.number(m.key(k))]] : [])));

/**
 * Gemma's score scale: `attention.scale` where the file has it, else llama.cpp's rule (1/sqrt(head_dim), but
 * 1/sqrt(hidden / heads) for the 27B models, which it knows by their layer count): as query_pre_attn_scalar.
 */
function gemmaAttention(m: GgufModelView, layers27b: number, every: number): Record<string, unknown> {
  const layers = m.meta.number(m.key('block_count'));
  const heads = m.meta.number(m.key('attention.head_count'));
  const hidden = m.meta.number(m.key('embedding_length'));
  const headDim = m.meta.number(m.key('attention.key_length'), hidden / heads);
  const scale = optional(m, 'attention.scale');
  const scalar = scale !== undefined ? scale ** -2 : layers === layers27b ? hidden / heads : headDim;
  // the sliding pattern: an array of booleans (true = sliding) or a period n (layer i slides unless i % n == n - 1)
  const pattern = m.meta.get(m.key('attention.sliding_window_pattern'));
  const period = typeof pattern === 'number' ? pattern : every;
  const sliding = Array.isArray(pattern) ? pattern.map(Boolean) : Array.from({ length: layers }, (_, i) => i % period < period - 1);
  return {
    query_pre_attn_scalar: scalar,
    sliding_window: slidingWindow(m) || 4096,
    layer_types: sliding.map((s) => (s ? 'sliding_attention' : 'full_attention')),
    hidden_activation: 'gelu_pytorch_tanh',
  };
}

export const ARCHITECTURES: Record<string, GgufArchitecture> = {
  llama: {
    hf: (m) => (m.meta.has(m.key('expert_count')) ? 'MixtralForCausalLM' : slidingWindow(m) ? 'MistralForCausalLM' : 'LlamaForCausalLM'),
    interleavedQk: true,
    config: (m) => ({
      ...ropeFreqs(m),
      ...(slidingWindow(m) ? { sliding_window: slidingWindow(m) } : {}),
      ...(m.meta.has(m.key('expert_count')) ? { num_local_experts: m.meta.number(m.key('expert_count')), num_experts_per_tok: m.meta.number(m.key('expert_used_count')) } : {}),
    }),
  },
  qwen2: { hf: () => 'Qwen2ForCausalLM', interleavedQk: false },
  qwen3: { hf: () => 'Qwen3ForCausalLM', interleavedQk: false },
  qwen2moe: {
    hf: () => 'Qwen2MoeForCausalLM',
    interleavedQk: false,
    config: (m) => ({
      num_experts: m.meta.number(m.key('expert_count')),
      ...experts(m, 'expert_feed_forward_length'),
      // llama.cpp leaves Qwen2-MoE's top-k weights unnormalised unless the file says otherwise
      norm_topk_prob: m.meta.get(m.key('expert_weights_norm')) === true,
      shared_expert_intermediate_size: m.meta.number(m.key('expert_shared_feed_forward_length'), 0),
    }),
  },
  qwen3moe: {
    hf: () => 'Qwen3MoeForCausalLM',
    interleavedQk: false,
    config: (m) => ({
      num_experts: m.meta.number(m.key('expert_count')),
      ...experts(m, 'expert_feed_forward_length'),
      norm_topk_prob: m.meta.get(m.key('expert_weights_norm')) !== false,
    }),
  },
  gemma2: {
    hf: () => 'Gemma2ForCausalLM',
    interleavedQk: false,
    normsStoreOnePlusW: true,
    config: (m) => ({
      ...gemmaAttention(m, 46, 2),
      ...softcaps(m),
    }),
  },
  gemma3: {
    hf: () => 'Gemma3ForCausalLM',
    interleavedQk: false,
    normsStoreOnePlusW: true,
    config: (m) => ({
      ...gemmaAttention(m, 62, 6),
      rope_local_base_freq: optional(m, 'rope.freq_base_swa') ?? 10000,
      ...softcaps(m),
    }),
  },
  phi3: {
    hf: () => 'Phi3ForCausalLM',
    interleavedQk: false,
    config: (m) => {
      const heads = m.meta.number(m.key('attention.head_count'));
      const headDim = m.meta.number(m.key('embedding_length')) / heads;
      const short = m.factors.get('rope_factors_short.weight');
      const long = m.factors.get('rope_factors_long.weight') ?? short;
      const original = optional(m, 'rope.scaling.original_context_length');
      return {
        partial_rotary_factor: m.meta.number(m.key('rope.dimension_count'), headDim) / headDim,
        sliding_window: slidingWindow(m) || null,
        ...(original !== undefined ? { original_max_position_embeddings: original } : {}),
        rope_scaling: short ? { type: 'longrope', short_factor: short, long_factor: long, ...(m.meta.has(m.key('rope.scaling.attn_factor')) ? { attention_factor: m.meta.number(m.key('rope.scaling.attn_factor')) } : {}) } : null,
      };
    },
  },
};

export function ggufArchitecture(meta: Metadata): { name: string } & GgufArchitecture {
  const name = meta.string('general.architecture');
  const arch = ARCHITECTURES[name];
  if (!arch) throw new UnsupportedModelError(`${meta.header.file}: GGUF architecture "${name}" is not supported (${Object.keys(ARCHITECTURES).join(', ')})`, { file: meta.header.file, field: 'general.architecture' });
  return { name, ...arch };
}
