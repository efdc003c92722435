/** Safetensors bytes with one weight replaced by NaN or infinity, for the non-finite checks (Node and Chromium). */

export type Dtype = 'F16' | 'BF16' | 'F32';
export const NAN: Record<Dtype, number> = { F16: 0x7e00, BF16: 0x7fc0, F32: 0x7fc00000 };
export const INF: Record<Dtype, number> = { F16: 0x7c00, BF16: 0x7f80, F32: 0x7f800000 };

/** A copy of the safetensors file `file` with element `index` of `tensor` set to `bits` (by the tensor's dtype). */
export function poisoned(file: Uint8Array, tensor: string, index: number, bits: Record<Dtype, number>): Uint8Array {
  const bytes = new Uint8Array(file);
  const view = new DataView(bytes.buffer);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: Dtype; data_offsets: [number, number] }>;
  const { dtype, data_offsets: [start] } = header[tensor];
  const at = 8 + headerLength + start + index * (dtype === 'F32' ? 4 : 2);
  if (dtype === 'F32') view.setUint32(at, bits.F32, true);
  else view.setUint16(at, bits[dtype], true);
  return bytes;
}
