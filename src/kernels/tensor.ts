/**
 * Storage formats of a weight matrix on the GPU. Activations are always f32.
 * - f32: [rows, cols] f32, row-major
 * - f16: [rows, cols] as f16 pairs packed in u32 (unpacked with unpack2x16float; no shader-f16 needed); cols even
 * - bf16: [rows, cols] as bf16 pairs packed in u32, as f16 (a bf16 is an f32's top half: decoding is a shift, exact); cols even
 * - q8:  [rows, cols/32 blocks] of 32 int8 (8 u32 words per block, little-endian bytes) + scales f32 [rows, cols/32]
 * - q4:  [rows, cols/32 blocks] of 32 nibbles (4 u32 per block; word j holds elements 8j..8j+7, low nibble first),
 *        value = (nibble - 8) * scale; scales f32 [rows, cols/32]
 * Quantized formats need cols % 32 == 0 (checked at load; other matrices stay 16-bit).
 */
export type WeightFormat = 'f32' | 'f16' | 'bf16' | 'q8' | 'q4';

/** The FORMAT override of every weight-reading shader (shaders/common/quant.wgsl). */
export const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, f16: 1, q8: 2, q4: 3, bf16: 4 };

/** Formats with two 16-bit values per u32 (same layout, different decode). */
export const is16Bit = (format: WeightFormat): format is 'f16' | 'bf16' => format === 'f16' || format === 'bf16';

/** A linear layer's weight in Hugging Face layout: y = x · Wᵀ with W [rows = out, cols = in]. */
export interface WeightMatrix {
  format: WeightFormat;
  rows: number;
  cols: number;
  data: GPUBuffer;
  /** q8/q4 only: f32 [rows, cols / 32] */
  scales?: GPUBuffer;
  label: string;
}

/**
 * A weight larger than one storage binding (embeddings and LM heads of big vocabularies), split by rows: piece i
 * holds rows [rowStart, rowStart + w.rows) as a WeightMatrix of its own. linear, embed and superposeEmbed take it.
 */
export interface SplitMatrix {
  format: WeightFormat;
  rows: number;
  cols: number;
  label: string;
  pieces: { rowStart: number; w: WeightMatrix }[];
}

/** A matrix as its row pieces (one piece when it is not split). */
export function rowPieces(m: WeightMatrix | SplitMatrix): { rowStart: number; w: WeightMatrix }[] {
  return 'pieces' in m ? m.pieces : [{ rowStart: 0, w: m }];
}

export const QUANT_BLOCK = 32;
