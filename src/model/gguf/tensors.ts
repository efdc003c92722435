import type { SafetensorsHeader, TensorInfo } from '../safetensors';
import type { GgufHeader } from './header';

/** GGUF tensor names (llama.cpp's) -> Hugging Face names, for the dense llama/qwen2 layout. */
const GLOBAL: Record<string, string> = {
  token_embd: 'model.embed_tokens',
  output_norm: 'model.norm',
  output: 'lm_head',
};
const LAYER: Record<string, string> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

/** `blk.3.attn_q.weight` -> `model.layers.3.self_attn.q_proj.weight`; undefined for tensors the runtime does not use. */
export function hfTensorName(name: string): string | undefined {
  const layer = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  if (layer) return LAYER[layer[2]] && `model.layers.${layer[1]}.${LAYER[layer[2]]}.${layer[3]}`;
  const global = /^(\w+)\.(weight|bias)$/.exec(name);
  return global && GLOBAL[global[1]] ? `${GLOBAL[global[1]]}.${global[2]}` : undefined;
}

/**
 * A GGUF header in the checkpoint loader's terms: HF names, shapes [rows, cols] (GGUF lists ne[0], the row
 * length, first), dtypes (float types as safetensors', blocks as their GgmlFormat). With `interleavedQk`, llama
 * q/k weights are marked for reordering (heads, kvHeads: their head counts).
 */
export function checkpointHeader(header: GgufHeader, interleavedQk?: { heads: number; kvHeads: number }): SafetensorsHeader {
  const tensors: TensorInfo[] = [];
  for (const t of header.tensors) {
    const name = hfTensorName(t.name);
    if (!name) continue;
    const info: TensorInfo = { name, file: header.file, dtype: t.type.stored, shape: [...t.dims].reverse(), start: t.start, end: t.end };
    if (interleavedQk && name.endsWith('q_proj.weight')) info.interleavedHeads = interleavedQk.heads;
    if (interleavedQk && name.endsWith('k_proj.weight')) info.interleavedHeads = interleavedQk.kvHeads;
    tensors.push(info);
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
