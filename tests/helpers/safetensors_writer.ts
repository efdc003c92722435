/** Builds safetensors bytes for tests: tensors in the given order, header padded to 8 bytes like the HF writer. */
export interface TensorSpec {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export function safetensorsBytes(tensors: Record<string, TensorSpec>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  return withHeader(JSON.stringify(header), Object.values(tensors).map((t) => t.data));
}

/** 8-byte length + header text (space-padded to a multiple of 8) + data. */
export function withHeader(headerText: string, data: Uint8Array[] = [], declaredLength?: number): Uint8Array {
  let text = headerText;
  while (new TextEncoder().encode(text).byteLength % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const dataBytes = data.reduce((a, d) => a + d.byteLength, 0);
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const d of data) {
    out.set(d, at);
    at += d.byteLength;
  }
  return out;
}

export const f32Bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
