/**
 * Storage formats of a weight matrix on the GPU. Activations are always f32.
 * - f32: [rows, cols] f32, row-major
 * - f16: [rows, cols] as f16 pairs packed in u32 (unpacked with unpack2x16float; no shader-f16 needed); cols even
 * - q8:  [rows, cols/32 blocks] of 32 int8 (8 u32 words per block, little-endian bytes) + scales f32 [rows, cols/32]
 * - q4:  [rows, cols/32 blocks] of 32 nibbles (4 u32 per block; word j holds elements 8j..8j+7, low nibble first),
 *        value = (nibble - 8) * scale; scales f32 [rows, cols/32]
 * Quantized formats need cols % 32 == 0 (checked at load; other matrices stay 16-bit).
 */
export type WeightFormat = 'f32' | 'f16' | 'q8' | 'q4';

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

export const QUANT_BLOCK = 32;
