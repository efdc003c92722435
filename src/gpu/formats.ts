/**
 * The weight formats the shaders decode, and their codes: the one map of them. A kernel reading weights takes
 * its format as the FORMAT override (dense formats) or the GGML override (GGUF block formats); the shaders
 * name the codes through `common/formats`, a snippet generated from these tables (src/gpu/wgsl.ts).
 *
 * Storage formats of a weight matrix on the GPU. Activations are always f32.
 * - f32: [rows, cols] f32, row-major
 * - f16: [rows, cols] as f16 pairs packed in u32 (unpacked with unpack2x16float; no shader-f16 needed); cols even
 * - bf16: [rows, cols] as bf16 pairs packed in u32, as f16 (a bf16 is an f32's top half: decoding is a shift, exact); cols even
 * - q8:  [rows, cols/32 blocks] of 32 int8 (8 u32 words per block, little-endian bytes) + scales f32 [rows, cols/32]
 * - q4:  [rows, cols/32 blocks] of 32 nibbles (4 u32 per block; word j holds elements 8j..8j+7, low nibble first),
 *        value = (nibble - 8) * scale; scales f32 [rows, cols/32]
 * Quantized formats need cols % 32 == 0 (checked at load; other matrices stay 16-bit).
 * GGUF block formats (GgmlFormat) keep ggml's byte layout, rows back to back, no separate scales:
 * - q8_0: blocks of 32 weights in 34 bytes (f16 d, int8 q[32]); rows may start at 2-byte offsets
 * - q4_k: blocks of 256 in 144 bytes (f16 d, f16 dmin, 12 bytes of 6-bit sub-block scales/mins, 128 of nibbles)
 * - q6_k: blocks of 256 in 210 bytes (128 bytes low nibbles, 64 bytes high 2 bits, int8 scales[16], f16 d)
 * - q4_0: blocks of 32 in 18 bytes (f16 d, 16 bytes of nibbles); q5_0: 22 bytes (f16 d, u32 of fifth bits, 16 of nibbles)
 * - q4_1: blocks of 32 in 20 bytes (f16 d, f16 m, 16 of nibbles); q5_1: 24 bytes (f16 d, f16 m, u32 of fifth bits, 16 of nibbles)
 * - iq4_nl: blocks of 32 in 18 bytes as q4_0, the nibbles indexing 16 non-linear levels
 * - q5_k: blocks of 256 in 176 bytes (q4_k's head, 32 bytes of fifth bits, 128 of nibbles)
 * - q2_k: blocks of 256 in 84 bytes (16 bytes of 4-bit scales/mins, 64 of 2-bit levels, f16 d, f16 dmin)
 * - q3_k: blocks of 256 in 110 bytes (32 bytes of third bits, 64 of 2-bit levels, 12 of 6-bit scales, f16 d)
 * (src/model/gguf/types.ts maps ggml's tensor type ids to these.)
 */
export type WeightFormat = 'f32' | 'f16' | 'bf16' | 'q8' | 'q4';
export type GgmlFormat = 'q8_0' | 'q4_k' | 'q6_k' | 'q4_0' | 'q5_0' | 'q4_1' | 'q5_1' | 'q5_k' | 'q2_k' | 'q3_k' | 'iq4_nl';
export type MatrixFormat = WeightFormat | GgmlFormat;

/** The FORMAT override of every dense-weight shader (FORMAT_F32 ... in WGSL). */
export const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, f16: 1, q8: 2, q4: 3, bf16: 4 };

/** The GGML override of the GGUF block shaders (GGML_Q8_0 ... in WGSL), and each format's block: weights and bytes. */
export const GGML_BLOCKS: Record<GgmlFormat, { code: number; elements: number; bytes: number }> = {
  q8_0: { code: 0, elements: 32, bytes: 34 },
  q4_k: { code: 1, elements: 256, bytes: 144 },
  q6_k: { code: 2, elements: 256, bytes: 210 },
  q4_0: { code: 3, elements: 32, bytes: 18 },
  q5_0: { code: 4, elements: 32, bytes: 22 },
  q4_1: { code: 5, elements: 32, bytes: 20 },
  q5_1: { code: 6, elements: 32, bytes: 24 },
  q5_k: { code: 7, elements: 256, bytes: 176 },
  q2_k: { code: 8, elements: 256, bytes: 84 },
  q3_k: { code: 9, elements: 256, bytes: 110 },
  iq4_nl: { code: 10, elements: 32, bytes: 18 },
};

/** Weights per scale of q8 and q4. */
export const QUANT_BLOCK = 32;

export const isGgmlFormat = (format: string): format is GgmlFormat => Object.hasOwn(GGML_BLOCKS, format);

/** Formats with two 16-bit values per u32 (same layout, different decode). */
export const is16Bit = (format: WeightFormat): format is 'f16' | 'bf16' => format === 'f16' || format === 'bf16';

/** The `common/formats` WGSL snippet: the codes as constants, and the GGUF blocks' geometry indexed by GGML code. */
export function formatsWgsl(): string {
  const byCode = Object.values(GGML_BLOCKS).sort((a, b) => a.code - b.code);
  const list = (key: 'elements' | 'bytes') => `array<u32, ${byCode.length}>(${byCode.map((b) => `${b[key]}u`).join(', ')})`;
  return [
    '// Weight format codes (generated from src/gpu/formats.ts): the FORMAT and GGML overrides.',
    ...Object.entries(FORMAT_ID).map(([name, code]) => `const FORMAT_${name.toUpperCase()}: u32 = ${code}u;`),
    ...Object.entries(GGML_BLOCKS).map(([name, { code }]) => `const GGML_${name.toUpperCase()}: u32 = ${code}u;`),
    `const GGML_BLOCK_WEIGHTS = ${list('elements')}; // by GGML code`,
    `const GGML_BLOCK_BYTES = ${list('bytes')};`,
    `const QUANT_BLOCK = ${QUANT_BLOCK}u;`,
    '',
  ].join('\n');
}
