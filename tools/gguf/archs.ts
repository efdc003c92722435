/**
 * What the GGUF writer does per architecture, as llama.cpp's converter (convert_hf_to_gguf) does it, written from
 * its documented conventions and tensor names independently of the runtime's loader: the `general.architecture`
 * name of each HF class, the `{arch}.*` metadata beyond the common keys, tensor names, and the tensor
 * transformations (Gemma norms stored as 1 + w, experts stacked into one [experts, rows, cols] tensor, Phi-3's
 * LongRoPE factors and Llama 3's frequency divisors as F32 tensors placed first).
 */
import type { GgufEntry } from './writer';

export const GGUF_ARCH: Record<string, string> = {
  LlamaForCausalLM: 'llama', MistralForCausalLM: 'llama', MixtralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3', Qwen2MoeForCausalLM: 'qwen2moe', Qwen3MoeForCausalLM: 'qwen3moe',
  Gemma2ForCausalLM: 'gemma2', Gemma3ForCausalLM: 'gemma3', Phi3ForCausalLM: 'phi3',
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type HfConfig = Record<string, any>;

export interface ArchOptions {
  /**
   * A file llama.cpp runs as transformers (and we) do: Gemma's query_pre_attn_scalar left to llama.cpp's own rule
   * (no `attention.scale` key), Phi-3's long factors written equal to its short ones (llama.cpp picks one set by the
   * context size, transformers by the sequence length), Qwen MoE dense layers given seeded random experts (llama.cpp
   * needs a router in every layer).
   */
  forLlamaCpp?: boolean;
}

/**
 * Qwen MoE layers listed in mlp_only_layers, made sparse for llama.cpp: the dense MLP replaced by a router, routed
 * experts, the shared expert and its gate, with seeded values in [-0.1, 0.1) (a different model, the same for both runtimes).
 */
export function sparseEveryLayer(c: HfConfig, tensors: Map<string, { shape: number[]; values: Float32Array }>): void {
  let seed = 12345;
  const random = (rows: number, cols: number) => ({
    shape: [rows, cols],
    values: Float32Array.from({ length: rows * cols }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) / 5),
  });
  const H = c.hidden_size, I = c.moe_intermediate_size, S = c.shared_expert_intermediate_size ?? 0;
  for (const l of (c.mlp_only_layers ?? []) as number[]) {
    const p = `model.layers.${l}.mlp`;
    for (const m of ['gate', 'up', 'down']) tensors.delete(`${p}.${m}_proj.weight`);
    tensors.set(`${p}.gate.weight`, random(c.num_experts, H));
    for (let e = 0; e < c.num_experts; e++) {
      tensors.set(`${p}.experts.${e}.gate_proj.weight`, random(I, H));
      tensors.set(`${p}.experts.${e}.up_proj.weight`, random(I, H));
      tensors.set(`${p}.experts.${e}.down_proj.weight`, random(H, I));
    }
    if (S === 0) continue;
    tensors.set(`${p}.shared_expert.gate_proj.weight`, random(S, H));
    tensors.set(`${p}.shared_expert.up_proj.weight`, random(S, H));
    tensors.set(`${p}.shared_expert.down_proj.weight`, random(H, S));
    tensors.set(`${p}.shared_expert_gate.weight`, random(1, H));
  }
}

const u32 = (value: number): GgufEntry => ({ type: 'u32', value });
const f32 = (value: number): GgufEntry => ({ type: 'f32', value });

/** `{arch}.*` metadata beyond the common keys (and overriding rope.dimension_count for Phi-3). */
export function archMetadata(c: HfConfig, options: ArchOptions = {}): Record<string, GgufEntry> {
  const hf = c.architectures[0] as string;
  const arch = GGUF_ARCH[hf];
  const k = (key: string) => `${arch}.${key}`;
  const out: Record<string, GgufEntry> = {};
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (c.sliding_window && (hf !== 'Qwen2ForCausalLM' && hf !== 'Qwen3ForCausalLM')) out[k('attention.sliding_window')] = u32(c.sliding_window);
  if (hf === 'MixtralForCausalLM') Object.assign(out, { [k('expert_count')]: u32(c.num_local_experts), [k('expert_used_count')]: u32(c.num_experts_per_tok) });
  if (hf === 'Qwen2MoeForCausalLM' || hf === 'Qwen3MoeForCausalLM') {
    Object.assign(out, { [k('expert_count')]: u32(c.num_experts), [k('expert_used_count')]: u32(c.num_experts_per_tok), [k('expert_feed_forward_length')]: u32(c.moe_intermediate_size) });
    if (c.shared_expert_intermediate_size) out[k('expert_shared_feed_forward_length')] = u32(c.shared_expert_intermediate_size);
    // llama.cpp's defaults: Qwen2-MoE unnormalised, Qwen3-MoE normalised; the key only where the file differs
    const norm = c.norm_topk_prob === true;
    if (norm !== (hf === 'Qwen3MoeForCausalLM')) out[k('expert_weights_norm')] = { type: 'bool', value: norm };
  }
  if (arch === 'gemma2' || arch === 'gemma3') {
    const every = arch === 'gemma2' ? 2 : 6;
    const layers = c.num_hidden_layers as number;
    const types: string[] = c.layer_types ?? Array.from({ length: layers }, (_, i) => ((i + 1) % every ? 'sliding_attention' : 'full_attention'));
    // the layer pattern where it is not the architecture's: a period n (layer i slides unless i % n == n - 1), else one flag per layer
    const periodic = (n: number) => types.every((t, i) => (t === 'sliding_attention') === (i % n < n - 1));
    const period = Array.from({ length: layers }, (_, i) => i + 2).find(periodic);
    if (!periodic(every)) out[k('attention.sliding_window_pattern')] = period ? u32(period) : { type: 'array', of: 'bool', value: types.map((t) => t === 'sliding_attention') };
    const scalar = c.query_pre_attn_scalar ?? 256;
    if (!options.forLlamaCpp && scalar !== headDim) out[k('attention.scale')] = f32(scalar ** -0.5);
    for (const cap of ['attn_logit_softcapping', 'final_logit_softcapping']) if (c[cap]) out[k(cap)] = f32(c[cap]);
    if (arch === 'gemma3' && (c.rope_local_base_freq ?? 10000) !== 10000) out[k('rope.freq_base_swa')] = f32(c.rope_local_base_freq);
  }
  if (arch === 'phi3') {
    out[k('rope.dimension_count')] = u32(Math.floor(headDim * (c.partial_rotary_factor ?? 1)));
    if (c.original_max_position_embeddings) out[k('rope.scaling.original_context_length')] = u32(c.original_max_position_embeddings);
    // the attention factor as the converter writes it: given, else transformers' default for LongRoPE
    const s = c.rope_scaling;
    if (s && (s.rope_type ?? s.type) !== 'default') {
      const original = c.original_max_position_embeddings ?? c.max_position_embeddings;
      const factor = c.original_max_position_embeddings ? c.max_position_embeddings / original : s.factor ?? 1;
      out[k('rope.scaling.attn_factor')] = f32(s.attention_factor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original))));
    }
  }
  return out;
}

/** Extra F32 tensors the converter writes before the weights: LongRoPE factors, Llama 3 frequency divisors. */
export function factorTensors(c: HfConfig, options: ArchOptions = {}): { name: string; values: Float32Array }[] {
  const s = c.rope_scaling;
  if (!s) return [];
  const type = s.rope_type ?? s.type;
  if (type === 'longrope' || type === 'su') {
    const long = options.forLlamaCpp ? s.short_factor : s.long_factor;
    return [{ name: 'rope_factors_long.weight', values: Float32Array.from(long) }, { name: 'rope_factors_short.weight', values: Float32Array.from(s.short_factor) }];
  }
  if (type === 'llama3') {
    const dim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
    const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: original } = s;
    const divisors = Array.from({ length: dim / 2 }, (_, i) => {
      const wavelen = (2 * Math.PI) / (1 / (c.rope_theta ?? 10000) ** ((2 * i) / dim));
      if (wavelen < original / high) return 1;
      if (wavelen > original / low) return factor;
      const smooth = (original / wavelen - low) / (high - low);
      return 1 / ((1 - smooth) / factor + smooth);
    });
    return [{ name: 'rope_freqs.weight', values: Float32Array.from(divisors) }];
  }
  return [];
}

const LAYER: Record<string, string> = {
  input_layernorm: 'attn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output', 'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm', 'self_attn.qkv_proj': 'attn_qkv',
  post_attention_layernorm: 'ffn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down', 'mlp.gate_up_proj': 'ffn_up',
  'mlp.gate': 'ffn_gate_inp', 'block_sparse_moe.gate': 'ffn_gate_inp',
  'mlp.shared_expert.gate_proj': 'ffn_gate_shexp', 'mlp.shared_expert.up_proj': 'ffn_up_shexp', 'mlp.shared_expert.down_proj': 'ffn_down_shexp', 'mlp.shared_expert_gate': 'ffn_gate_inp_shexp',
};
/** Gemma's four norms: post_attention_layernorm is on the attention output there. */
const GEMMA_LAYER: Record<string, string> = { post_attention_layernorm: 'post_attention_norm', pre_feedforward_layernorm: 'ffn_norm', post_feedforward_layernorm: 'post_ffw_norm' };
const EXPERT: Record<string, string> = { gate_proj: 'gate', up_proj: 'up', down_proj: 'down', w1: 'gate', w3: 'up', w2: 'down' };

/**
 * The GGUF name of an HF tensor; routed experts give `{ stacked, expert }` (blk.L.ffn_{gate,up,down}_exps.weight
 * and the expert's index).
 */
export function ggufTensorName(hf: string, hfClass: string): { name: string; expert?: number } {
  if (hf === 'model.embed_tokens.weight') return { name: 'token_embd.weight' };
  if (hf === 'model.norm.weight') return { name: 'output_norm.weight' };
  if (hf === 'lm_head.weight') return { name: 'output.weight' };
  const expert = /^model\.layers\.(\d+)\.(?:mlp|block_sparse_moe)\.experts\.(\d+)\.(\w+)\.weight$/.exec(hf);
  if (expert) return { name: `blk.${expert[1]}.ffn_${EXPERT[expert[3]]}_exps.weight`, expert: Number(expert[2]) };
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  const gguf = m && ((hfClass.startsWith('Gemma') && GEMMA_LAYER[m[2]]) || LAYER[m[2]]);
  if (!m || !gguf) throw new Error(`no GGUF name for ${hf}`);
  return { name: `blk.${m[1]}.${gguf}.${m[3]}` };
}

/** Tensors llama.cpp's quantizer leaves in F32: norms, biases, routers and the shared expert's gate. */
export const keepsF32 = (name: string) => /ffn_gate_inp/.test(name);

/** Gemma stores every norm weight as 1 + w (its RMSNorm multiplies by 1 + w; llama.cpp's by the stored value). */
export const storesOnePlusW = (name: string, hfClass: string) => hfClass.startsWith('Gemma') && /norm\.weight$/.test(name);
