import { ModelFormatError } from '../../contract/errors';
import type { ByteReader } from '../byte_reader';
import { GGML_TYPES, type GgmlType } from './types';

/**
 * The GGUF header (versions 2 and 3), read from the front of a byte stream:
 *   "GGUF", u32 version, u64 tensor count, u64 metadata count,
 *   metadata: (string key, u32 value type, value)*,
 *   tensor infos: (string name, u32 dims, u64 ne[dims] (ne[0] innermost), u32 ggml type, u64 offset)*,
 *   padding to `general.alignment` (default 32), then the tensor data (offsets relative to its start).
 * Strings are u64 length + UTF-8 bytes; arrays are u32 element type + u64 count + elements.
 *
 * This parser reads the stream once, front to back, so the same stream then yields the tensors: sources are
 * sequential (a File, a Node read stream, an HTTP body from a server that may not honour Range requests).
 * `@huggingface/gguf` parses by issuing Range requests against a URL, which these sources cannot serve.
 */

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ne[0] (innermost, the row length) first */
  dims: number[];
  type: GgmlType;
  /** byte range in the file */
  start: number;
  end: number;
}

export interface GgufHeader {
  file: string;
  version: number;
  metadata: Map<string, GgufValue>;
  /** sorted by start */
  tensors: GgufTensorInfo[];
  /** where the tensor data starts (aligned) */
  dataStart: number;
  /** the file's size: as the source reports it, else where the last tensor's padding ends (llama.cpp pads every tensor) */
  fileSize: number;
}

const MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_STRING = 1 << 26;
const MAX_ARRAY = 1 << 26;

const fail = (file: string, message: string) => new ModelFormatError(`${file}: ${message}`, { file });

class HeaderReader {
  constructor(private readonly reader: ByteReader) {}

  get position(): number {
    return this.reader.position;
  }

  private async view(n: number): Promise<DataView> {
    const bytes = await this.reader.read(n);
    return new DataView(bytes.buffer, bytes.byteOffset, n);
  }

  async u32(): Promise<number> {
    return (await this.view(4)).getUint32(0, true);
  }

  async u64(): Promise<number> {
    const v = await this.view(8);
    const value = v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
    if (!Number.isSafeInteger(value)) throw fail(this.reader.file, `a 64-bit count ${value} is out of range`);
    return value;
  }

  async string(): Promise<string> {
    const length = await this.u64();
    if (length > MAX_STRING) throw fail(this.reader.file, `a string of ${length} bytes at byte ${this.position} exceeds the ${MAX_STRING}-byte limit`);
    return new TextDecoder().decode(await this.reader.read(length));
  }

  async value(type: number): Promise<GgufValue> {
    const scalar = SCALARS[type];
    if (scalar) {
      const v = await this.view(scalar.bytes);
      return scalar.get(v);
    }
    if (type === 8) return this.string();
    if (type !== 9) throw fail(this.reader.file, `unknown metadata value type ${type} at byte ${this.position}`);
    const elementType = await this.u32();
    const count = await this.u64();
    if (count > MAX_ARRAY) throw fail(this.reader.file, `an array of ${count} elements exceeds the ${MAX_ARRAY}-element limit`);
    const elementScalar = SCALARS[elementType];
    if (elementScalar) {
      // one read for the whole array: vocabularies hold 10^5 scores and types
      const v = await this.view(count * elementScalar.bytes);
      return Array.from({ length: count }, (_, i) => elementScalar.get(v, i * elementScalar.bytes));
    }
    const out: GgufValue[] = [];
    for (let i = 0; i < count; i++) out.push(await this.value(elementType));
    return out;
  }
}

const SCALARS: Record<number, { bytes: number; get: (v: DataView, at?: number) => GgufValue }> = {
  0: { bytes: 1, get: (v, at = 0) => v.getUint8(at) },
  1: { bytes: 1, get: (v, at = 0) => v.getInt8(at) },
  2: { bytes: 2, get: (v, at = 0) => v.getUint16(at, true) },
  3: { bytes: 2, get: (v, at = 0) => v.getInt16(at, true) },
  4: { bytes: 4, get: (v, at = 0) => v.getUint32(at, true) },
  5: { bytes: 4, get: (v, at = 0) => v.getInt32(at, true) },
  6: { bytes: 4, get: (v, at = 0) => v.getFloat32(at, true) },
  7: { bytes: 1, get: (v, at = 0) => v.getUint8(at) !== 0 },
  10: { bytes: 8, get: (v, at = 0) => v.getBigUint64(at, true) },
  11: { bytes: 8, get: (v, at = 0) => v.getBigInt64(at, true) },
  12: { bytes: 8, get: (v, at = 0) => v.getFloat64(at, true) },
};

/** Reads and validates the header; the reader is left at the first tensor byte. `size`: the file's, when the source knows it. */
export async function readGgufHeader(reader: ByteReader, size?: number): Promise<GgufHeader> {
  const file = reader.file;
  const r = new HeaderReader(reader);
  if (size !== undefined && size < 24) throw fail(file, `file of ${size} bytes is too short for a GGUF header`);
  if ((await r.u32()) !== MAGIC) throw fail(file, 'does not start with "GGUF" (not a GGUF file)');
  const version = await r.u32();
  if (version !== 2 && version !== 3) throw fail(file, `GGUF version ${version} is not supported (2, 3)`);
  const tensorCount = await r.u64();
  const metadataCount = await r.u64();
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = await r.string();
    metadata.set(key, await r.value(await r.u32()));
  }
  const infos: { name: string; dims: number[]; type: GgmlType; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = await r.string();
    const rank = await r.u32();
    if (rank < 1 || rank > 4) throw fail(file, `tensor "${name}" has ${rank} dimensions (1..4)`);
    const dims: number[] = [];
    for (let d = 0; d < rank; d++) dims.push(await r.u64());
    const typeId = await r.u32();
    const type = GGML_TYPES.find((t) => t.id === typeId);
    if (!type) throw fail(file, `tensor "${name}" has ggml type ${typeId}, which this runtime does not read (${GGML_TYPES.map((t) => t.name).join(', ')})`);
    infos.push({ name, dims, type, offset: await r.u64() });
  }
  const alignment = Number(metadata.get('general.alignment') ?? 32);
  if (!Number.isSafeInteger(alignment) || alignment < 1) throw fail(file, `general.alignment ${alignment} is not a positive integer`);
  const dataStart = Math.ceil(r.position / alignment) * alignment;
  await reader.skip(dataStart - r.position);
  const tensors = infos.map(({ name, dims, type, offset }) => {
    const bytes = tensorBytes(type, dims, name, file);
    if (offset % alignment !== 0) throw fail(file, `tensor "${name}" starts at data offset ${offset}, not a multiple of the alignment ${alignment}`);
    return { name, dims, type, start: dataStart + offset, end: dataStart + offset + bytes };
  });
  tensors.sort((a, b) => a.start - b.start);
  const fileSize = size ?? Math.ceil(Math.max(dataStart, ...tensors.map((t) => t.end)) / alignment) * alignment;
  checkLayout(tensors, fileSize, file);
  return { file, version, metadata, tensors, dataStart, fileSize };
}

/** Bytes of a tensor: rows of ne[0] elements in blocks of the type's block size. */
function tensorBytes(type: GgmlType, dims: number[], name: string, file: string): number {
  if (dims[0] % type.blockElements !== 0) throw fail(file, `tensor "${name}" rows of ${dims[0]} elements are not whole ${type.name} blocks of ${type.blockElements}`);
  const bytes = (dims.reduce((a, b) => a * b, 1) / type.blockElements) * type.blockBytes;
  if (!Number.isSafeInteger(bytes)) throw fail(file, `tensor "${name}" of shape [${dims.join(', ')}] is too large`);
  return bytes;
}

/** Tensors may not overlap or run past the end of the file (gaps are alignment padding). */
function checkLayout(tensors: GgufTensorInfo[], fileSize: number, file: string): void {
  let at = 0;
  for (const t of tensors) {
    if (t.start < at) throw fail(file, `tensor "${t.name}" overlaps the previous tensor`);
    if (t.end > fileSize) throw fail(file, `tensor "${t.name}" ends at byte ${t.end}, past the end of the ${fileSize}-byte file`);
    at = t.end;
  }
}
