import type { GgmlFormat } from '../../kernels/tensor';
import type { Dtype } from '../safetensors';

/**
 * The ggml tensor types this runtime reads (ids from ggml's `ggml_type` enum), with their block geometry
 * (ggml-common.h) and how they are kept: float types as the matching safetensors dtype, block types in
 * their own layout (a GgmlFormat the kernels decode).
 */
export interface GgmlType {
  id: number;
  name: string;
  blockElements: number;
  blockBytes: number;
  stored: Dtype | GgmlFormat;
}

export const GGML_TYPES: readonly GgmlType[] = [
  { id: 0, name: 'F32', blockElements: 1, blockBytes: 4, stored: 'F32' },
  { id: 1, name: 'F16', blockElements: 1, blockBytes: 2, stored: 'F16' },
  { id: 30, name: 'BF16', blockElements: 1, blockBytes: 2, stored: 'BF16' },
  // f16 d, u8 qs[16] (nibbles: weights i and 16 + i)
  { id: 2, name: 'Q4_0', blockElements: 32, blockBytes: 18, stored: 'q4_0' },
  // f16 d, u32 qh (fifth bits), u8 qs[16]
  { id: 6, name: 'Q5_0', blockElements: 32, blockBytes: 22, stored: 'q5_0' },
  // f16 d, int8 qs[32]
  { id: 8, name: 'Q8_0', blockElements: 32, blockBytes: 34, stored: 'q8_0' },
  // f16 d, f16 dmin, u8 scales[12] (6-bit scales and mins of 8 sub-blocks of 32), u8 qs[128] (nibbles)
  { id: 12, name: 'Q4_K', blockElements: 256, blockBytes: 144, stored: 'q4_k' },
  // u8 ql[128] (low nibbles), u8 qh[64] (high 2 bits), int8 scales[16] (sub-blocks of 16), f16 d
  { id: 14, name: 'Q6_K', blockElements: 256, blockBytes: 210, stored: 'q6_k' },
];

export const ggmlType = (name: string): GgmlType => GGML_TYPES.find((t) => t.name === name)!;
