import type { SafetensorsHeader, TensorInfo } from '../safetensors';
import type { GgufHeader } from './header';

/** GGUF tensor names (llama.cpp's) -> Hugging Face names: the model's own, then each layer's by family. */
const GLOBAL: Record<string, string> = {
  token_embd: 'model.embed_tokens',
  output_norm: 'model.norm',
  output: 'lm_head',
};
const LLAMA_LAYER: Record<string, string> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};
/** Qwen MoE layers: router, routed experts (stacked in GGUF), the shared expert and its sigmoid gate. */
const QWEN_MOE_LAYER: Record<string, string> = {
  ...LLAMA_LAYER,
  ffn_gate_inp: 'mlp.gate',
  ffn_gate_exps: 'mlp.experts.{e}.gate_proj',
  ffn_up_exps: 'mlp.experts.{e}.up_proj',
  ffn_down_exps: 'mlp.experts.{e}.down_proj',
  ffn_gate_shexp: 'mlp.shared_expert.gate_proj',
  ffn_up_shexp: 'mlp.shared_expert.up_proj',
  ffn_down_shexp: 'mlp.shared_expert.down_proj',
  ffn_gate_inp_shexp: 'mlp.shared_expert_gate',
};
const LAYER: Record<string, Record<string, string>> = {
  LlamaForCausalLM: LLAMA_LAYER,
  MistralForCausalLM: LLAMA_LAYER,
  Qwen2ForCausalLM: LLAMA_LAYER,
  Qwen3ForCausalLM: LLAMA_LAYER,
  // experts stacked (ffn_*_exps) or, in older files, one tensor each (ffn_*.{e})
  MixtralForCausalLM: {
    ...LLAMA_LAYER,
    ffn_gate_inp: 'block_sparse_moe.gate',
    ffn_gate_exps: 'block_sparse_moe.experts.{e}.w1',
    ffn_up_exps: 'block_sparse_moe.experts.{e}.w3',
    ffn_down_exps: 'block_sparse_moe.experts.{e}.w2',
  },
  Qwen2MoeForCausalLM: QWEN_MOE_LAYER,
  Qwen3MoeForCausalLM: QWEN_MOE_LAYER,
  Gemma2ForCausalLM: { ...LLAMA_LAYER, post_attention_norm: 'post_attention_layernorm', ffn_norm: 'pre_feedforward_layernorm', post_ffw_norm: 'post_feedforward_layernorm' },
  Gemma3ForCausalLM: { ...LLAMA_LAYER, post_attention_norm: 'post_attention_layernorm', ffn_norm: 'pre_feedforward_layernorm', post_ffw_norm: 'post_feedforward_layernorm' },
  // fused [q; k; v] and [gate; up] as the HF checkpoint has them
  Phi3ForCausalLM: { ...LLAMA_LAYER, attn_qkv: 'self_attn.qkv_proj', ffn_up: 'mlp.gate_up_proj' },
};
const MIXTRAL_EXPERT: Record<string, string> = { ffn_gate: 'w1', ffn_up: 'w3', ffn_down: 'w2' };

/** `blk.3.attn_q.weight` -> `model.layers.3.self_attn.q_proj.weight` for the HF class `hf`; undefined for tensors it does not use. */
export function hfTensorName(name: string, hf: string): string | undefined {
  const expert = /^blk\.(\d+)\.(ffn_gate|ffn_up|ffn_down)\.(\d+)\.weight$/.exec(name);
  if (expert) return hf === 'MixtralForCausalLM' ? `model.layers.${expert[1]}.block_sparse_moe.experts.${expert[3]}.${MIXTRAL_EXPERT[expert[2]]}.weight` : undefined;
  const layer = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  const table = LAYER[hf] ?? LLAMA_LAYER;
  if (layer) return table[layer[2]] && `model.layers.${layer[1]}.${table[layer[2]]}.${layer[3]}`;
  const global = /^(\w+)\.(weight|bias)$/.exec(name);
  return global && GLOBAL[global[1]] ? `${GLOBAL[global[1]]}.${global[2]}` : undefined;
}

export interface CheckpointMapping {
  /** the HF class the file maps to */
  hf: string;
  /** llama q/k rows in interleaved order: their head counts */
  interleavedQk?: { heads: number; kvHeads: number };
  /** Gemma: norm weights stored as 1 + w */
  normsStoreOnePlusW?: boolean;
}

/**
 * A GGUF header in the checkpoint loader's terms: HF names, shapes [rows, cols] (GGUF lists ne[0], the row
 * length, first), dtypes (float types as safetensors', blocks as their GgmlFormat). Stacked experts
 * (ne [cols, rows, experts]) become one tensor per expert over consecutive byte ranges; llama q/k weights are
 * marked for reordering, Gemma's norms for the shift back to w.
 */
export function checkpointHeader(header: GgufHeader, mapping: CheckpointMapping): SafetensorsHeader {
  const tensors: TensorInfo[] = [];
  for (const t of header.tensors) {
    const name = hfTensorName(t.name, mapping.hf);
    if (!name) continue;
    const info: TensorInfo = { name, file: header.file, dtype: t.type.stored, shape: [...t.dims].reverse(), start: t.start, end: t.end };
    if (mapping.interleavedQk && name.endsWith('q_proj.weight')) info.interleavedHeads = mapping.interleavedQk.heads;
    if (mapping.interleavedQk && name.endsWith('k_proj.weight')) info.interleavedHeads = mapping.interleavedQk.kvHeads;
    if (mapping.normsStoreOnePlusW && /norm\.weight$/.test(name)) info.addend = -1;
    // GGUF keeps the shared expert's gate [1, hidden] as a vector
    if (name.endsWith('shared_expert_gate.weight')) info.shape = [1, info.shape[info.shape.length - 1]];
    if (!name.includes('{e}')) {
      tensors.push(info);
      continue;
    }
    const [experts, rows, cols] = info.shape;
    const bytes = (t.end - t.start) / experts;
    for (let e = 0; e < experts; e++) tensors.push({ ...info, name: name.replace('{e}', String(e)), shape: [rows, cols], start: t.start + e * bytes, end: t.start + (e + 1) * bytes });
  }
  return { file: header.file, dataStart: header.dataStart, tensors, metadata: {} };
}

/**
 * Undoes llama.cpp's q/k permutation. Its converter stores each head's rows as pairs (i, i + d/2) side by side
 * (row 2i + j holds rotate-half row j*d/2 + i) so that RoPE rotates adjacent rows; the kernels here rotate halves.
 * Rows are moved whole (any dtype or block format: blocks never cross rows).
 */
export function rotateHalfRows(bytes: Uint8Array, rows: number, heads: number): Uint8Array<ArrayBuffer> {
  const rowBytes = bytes.byteLength / rows;
  const headDim = rows / heads;
  const out = new Uint8Array(bytes.byteLength);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + 2 * i + j) * rowBytes;
        out.set(bytes.subarray(from, from + rowBytes), (h * headDim + j * (headDim / 2) + i) * rowBytes);
      }
    }
  }
  return out;
}
