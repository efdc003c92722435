import { ModelFormatError } from '../contract/errors';
import type { GgmlFormat } from '../kernels/tensor';
import type { ByteReader } from './byte_reader';
import { isObject, parseJson } from './json';

/**
 * safetensors: 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the tensor bytes
 * (offsets relative to the end of the header). Validation is strict: the tensors must tile the data
 * section exactly, in any key order.
 */

export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;

/** Headers above this are rejected before reading them (real checkpoints stay far below). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** How a checkpoint tensor is stored: a safetensors dtype, or a GGUF block format (GGUF files only). */
export type StoredDtype = Dtype | GgmlFormat;

export interface TensorInfo {
  name: string;
  file: string;
  dtype: StoredDtype;
  shape: number[];
  /** Byte range in the file (absolute: header included). */
  start: number;
  end: number;
  /** GGUF llama q/k: rows stored in interleaved-RoPE order for this many heads; the loader restores rotate-half order. */
  interleavedHeads?: number;
  /** GGUF Gemma norms: stored as w + 1; the loader adds this (-1) to every value to get back w. */
  addend?: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Where the tensor data starts (8 + header length). */
  dataStart: number;
  /** Sorted by start. */
  tensors: TensorInfo[];
  metadata: Record<string, string>;
}

const fail = (file: string, message: string, tensor?: string) =>
  new ModelFormatError(`${file}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${message}`, tensor === undefined ? { file } : { file, tensor });

/** The header length from the first 8 bytes, checked against the file size (when known) and MAX_HEADER_BYTES. */
export function parseHeaderLength(first8: Uint8Array, fileSize: number | undefined, file: string): number {
  if (first8.byteLength < 8) throw fail(file, `file of ${fileSize} bytes is too short for a safetensors header`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const length = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (length > MAX_HEADER_BYTES) throw fail(file, `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  if (fileSize !== undefined && 8 + length > fileSize) throw fail(file, `header length ${length} runs past the end of the ${fileSize}-byte file`);
  return length;
}

/**
 * Validates the header JSON against the file size. Without a known size the tensors still have to tile the data
 * section; the file then ends where the last one does, and the reader checks that the stream ends there too.
 */
export function parseHeaderJson(bytes: Uint8Array, fileSize: number | undefined, file: string): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw fail(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw fail(file, 'header is not a JSON object');
  const dataStart = 8 + bytes.byteLength;
  const metadata = parseMetadata(json.__metadata__, file);
  const tensors = Object.entries(json)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => parseEntry(name, entry, file, dataStart));
  tensors.sort((a, b) => a.start - b.start || a.end - b.end);
  checkTiling(tensors, dataStart, fileSize ?? Math.max(dataStart, ...tensors.map((t) => t.end)), file);
  return { file, dataStart, tensors, metadata };
}

/** Reads and validates the header from the start of a stream; the reader is left at the first tensor byte. */
export async function readHeader(reader: ByteReader, fileSize: number | undefined): Promise<SafetensorsHeader> {
  if (fileSize !== undefined && fileSize < 8) throw fail(reader.file, `file of ${fileSize} bytes is too short for a safetensors header`);
  const length = parseHeaderLength(await reader.read(8), fileSize, reader.file);
  return parseHeaderJson(await reader.read(length), fileSize, reader.file);
}

/** `model.safetensors.index.json` -> tensor name -> shard file. */
export function parseShardIndex(text: string, file = 'model.safetensors.index.json'): Map<string, string> {
  const json = parseJson(text, file);
  if (!isObject(json) || !isObject(json.weight_map)) throw fail(file, '"weight_map" is missing or not an object');
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard)) throw fail(file, `weight_map entry is not a .safetensors file name: ${JSON.stringify(shard)}`, tensor);
    map.set(tensor, shard);
  }
  if (map.size === 0) throw fail(file, '"weight_map" is empty');
  return map;
}

export const elementCount = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function parseEntry(name: string, entry: unknown, file: string, dataStart: number): TensorInfo {
  if (!isObject(entry)) throw fail(file, 'entry is not an object', name);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) throw fail(file, `unknown dtype ${JSON.stringify(dtype)}`, name);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw fail(file, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw fail(file, `data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`, name);
  }
  const bytes = elementCount(shape) * DTYPE_BYTES[dtype as Dtype];
  if (!Number.isSafeInteger(bytes) || bytes !== offsets[1] - offsets[0]) {
    throw fail(file, `shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes but data_offsets [${offsets.join(', ')}] span ${offsets[1] - offsets[0]}`, name);
  }
  return { name, file, dtype: dtype as Dtype, shape, start: dataStart + offsets[0], end: dataStart + offsets[1] };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) throw fail(file, '"__metadata__" must map strings to strings');
  return value as Record<string, string>;
}

/** The sorted ranges must start at the data section, follow each other without gap or overlap, and end with the file. */
function checkTiling(tensors: TensorInfo[], dataStart: number, fileSize: number, file: string): void {
  let at = dataStart;
  for (const t of tensors) {
    if (t.end > fileSize) throw fail(file, `data_offsets end at byte ${t.end - dataStart} of the data section, past the end of the file (${fileSize - dataStart} data bytes)`, t.name);
    if (t.start < at) throw fail(file, `data_offsets overlap the previous tensor (starts at ${t.start - dataStart}, previous ends at ${at - dataStart})`, t.name);
    if (t.start > at) throw fail(file, `bytes ${at - dataStart}..${t.start - dataStart} of the data section belong to no tensor`, t.name);
    at = t.end;
  }
  if (at !== fileSize) throw fail(file, `the tensors cover ${at - dataStart} data bytes but the file holds ${fileSize - dataStart}`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
