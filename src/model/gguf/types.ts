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
  // f16 d, f16 m, u8 qs[16]
  { id: 3, name: 'Q4_1', blockElements: 32, blockBytes: 20, stored: 'q4_1' },
  // f16 d, u32 qh (fifth bits), u8 qs[16]
  { id: 6, name: 'Q5_0', blockElements: 32, blockBytes: 22, stored: 'q5_0' },
  // f16 d, f16 m, u32 qh, u8 qs[16]
  { id: 7, name: 'Q5_1', blockElements: 32, blockBytes: 24, stored: 'q5_1' },
  // f16 d, int8 qs[32]
  { id: 8, name: 'Q8_0', blockElements: 32, blockBytes: 34, stored: 'q8_0' },
  // u8 scales[16] (4-bit scale and min of 16 sub-blocks of 16), u8 qs[64] (2-bit levels), f16 d, f16 dmin
  { id: 10, name: 'Q2_K', blockElements: 256, blockBytes: 84, stored: 'q2_k' },
  // u8 hmask[32] (third bits), u8 qs[64] (low 2 bits), u8 scales[12] (6-bit scales of 16 sub-blocks of 16), f16 d
  { id: 11, name: 'Q3_K', blockElements: 256, blockBytes: 110, stored: 'q3_k' },
  // f16 d, f16 dmin, u8 scales[12] (6-bit scales and mins of 8 sub-blocks of 32), u8 qs[128] (nibbles)
  { id: 12, name: 'Q4_K', blockElements: 256, blockBytes: 144, stored: 'q4_k' },
  // as Q4_K with u8 qh[32] (fifth bits) before the nibbles
  { id: 13, name: 'Q5_K', blockElements: 256, blockBytes: 176, stored: 'q5_k' },
  // u8 ql[128] (low nibbles), u8 qh[64] (high 2 bits), int8 scales[16] (sub-blocks of 16), f16 d
  { id: 14, name: 'Q6_K', blockElements: 256, blockBytes: 210, stored: 'q6_k' },
  // f16 d, u8 qs[16]: nibbles (as Q4_0) indexing 16 non-linear levels
  { id: 20, name: 'IQ4_NL', blockElements: 32, blockBytes: 18, stored: 'iq4_nl' },
];

export const ggmlType = (name: string): GgmlType => GGML_TYPES.find((t) => t.name === name)!;
