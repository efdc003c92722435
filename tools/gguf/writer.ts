/**
 * GGUF files (version 3) from metadata and tensors, written from the GGUF spec: header, metadata, tensor infos,
 * padding to the alignment (32), tensor data each padded to it. Tensor shapes are given as GGUF's ne (row length first).
 */
import { GGML_TYPES } from '../../src/model/gguf/types';

/** A metadata value with its GGUF type: scalars, strings and arrays of either. */
export type GgufEntry =
  | { type: 'u32' | 'i32' | 'f32' | 'bool' | 'string'; value: number | boolean | string }
  | { type: 'array'; of: 'i32' | 'f32' | 'bool' | 'string'; value: (number | string | boolean)[] };

export interface GgufTensor {
  name: string;
  /** ggml type name (src/model/gguf/types.ts): F32, F16, Q8_0, Q4_K, ... */
  type: string;
  /** ne: row length first */
  dims: number[];
  data: Uint8Array;
}

const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
const ALIGNMENT = 32;

class Bytes {
  private parts: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.byteLength;
  }

  scalar(type: 'u32' | 'i32' | 'f32' | 'u64' | 'u8', value: number): void {
    const v = new DataView(new ArrayBuffer(type === 'u64' ? 8 : type === 'u8' ? 1 : 4));
    if (type === 'u32') v.setUint32(0, value, true);
    else if (type === 'i32') v.setInt32(0, value, true);
    else if (type === 'f32') v.setFloat32(0, value, true);
    else if (type === 'u8') v.setUint8(0, value);
    else v.setBigUint64(0, BigInt(value), true);
    this.push(new Uint8Array(v.buffer));
  }

  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.scalar('u64', bytes.byteLength);
    this.push(bytes);
  }

  value(type: 'u32' | 'i32' | 'f32' | 'bool' | 'string', v: number | boolean | string): void {
    if (type === 'string') this.string(v as string);
    else if (type === 'bool') this.scalar('u8', v ? 1 : 0);
    else this.scalar(type, v as number);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

export function ggufBytes(metadata: Record<string, GgufEntry>, tensors: GgufTensor[]): Uint8Array {
  const out = new Bytes();
  out.push(new TextEncoder().encode('GGUF'));
  out.scalar('u32', 3);
  out.scalar('u64', tensors.length);
  out.scalar('u64', Object.keys(metadata).length);
  for (const [key, entry] of Object.entries(metadata)) {
    out.string(key);
    out.scalar('u32', VALUE_TYPE[entry.type]);
    if (entry.type === 'array') {
      out.scalar('u32', VALUE_TYPE[entry.of]);
      out.scalar('u64', entry.value.length);
      for (const v of entry.value) out.value(entry.of, v);
    } else {
      out.value(entry.type, entry.value);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const type = GGML_TYPES.find((g) => g.name === t.type);
    if (!type) throw new Error(`unknown ggml type ${t.type}`);
    const expected = (t.dims.reduce((a, b) => a * b, 1) / type.blockElements) * type.blockBytes;
    if (expected !== t.data.byteLength) throw new Error(`${t.name}: ${t.data.byteLength} bytes, ${t.type} [${t.dims}] needs ${expected}`);
    out.string(t.name);
    out.scalar('u32', t.dims.length);
    for (const d of t.dims) out.scalar('u64', d);
    out.scalar('u32', type.id);
    out.scalar('u64', offset);
    offsets.push(offset);
    offset = align(offset + t.data.byteLength);
  }
  out.push(new Uint8Array(align(out.length) - out.length));
  // every tensor padded to the alignment, the last too (as llama.cpp's writers do)
  tensors.forEach((t, i) => {
    out.push(t.data);
    out.push(new Uint8Array(align(offsets[i] + t.data.byteLength) - offsets[i] - t.data.byteLength));
  });
  return out.concat();
}

const align = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;
