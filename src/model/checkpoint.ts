import { ModelFormatError } from '../contract/errors';
import { ByteReader } from './byte_reader';
import { isGgufSource } from './gguf/source';
import { parseShardIndex, readHeader, type SafetensorsHeader, type TensorInfo } from './safetensors';
import type { ModelSource } from './source';

export const SINGLE_FILE = 'model.safetensors';
export const SHARD_INDEX = 'model.safetensors.index.json';

export interface OpenShard {
  header: SafetensorsHeader;
  size: number;
  /** Positioned at the first tensor byte. */
  reader: ByteReader;
}

/** A checkpoint whose headers are read and validated, its tensor bytes not yet. */
export interface OpenCheckpoint {
  shards: OpenShard[];
  tensors: Map<string, TensorInfo>;
  /** Sum of the file sizes (progress total). */
  totalBytes: number;
  close(): Promise<void>;
}

/**
 * Opens `model.safetensors`, or every shard named by `model.safetensors.index.json` (or a GGUF model's files), and
 * the adapter file config.json names (`adapterFile`), and reads their headers.
 */
export async function openCheckpoint(source: ModelSource, signal?: AbortSignal, adapterFile?: string): Promise<OpenCheckpoint> {
  if (isGgufSource(source)) return source.checkpoint();
  if (adapterFile && !(await source.exists(adapterFile))) {
    throw new ModelFormatError(`config.json: self_speculative.adapter_file names ${adapterFile}, which is not in ${source.describe}`, { file: adapterFile, field: 'self_speculative.adapter_file' });
  }
  // the single file first: most small models have one, and a probe for an index they lack is a 404 in the console
  const sharded = !(await source.exists(SINGLE_FILE)) && (await source.exists(SHARD_INDEX));
  const index = sharded ? parseShardIndex(await source.text(SHARD_INDEX)) : undefined;
  const files = [...(index ? [...new Set(index.values())].sort() : [SINGLE_FILE]), ...(adapterFile ? [adapterFile] : [])];
  const shards: OpenShard[] = [];
  const close = async () => {
    await Promise.all(shards.map((s) => s.reader.close()));
  };
  try {
    for (const file of files) {
      const binary = await source.binary(file);
      const reader = new ByteReader(binary.stream(), file, signal);
      const header = await readHeader(reader, binary.size).catch(async (e) => {
        await reader.close();
        throw e;
      });
      // without a known size (a URL source), the header says where the file ends and the reader checks it
      const size = binary.size ?? header.tensors.reduce((end, t) => Math.max(end, t.end), header.dataStart);
      shards.push({ header, size, reader });
    }
    const tensors = new Map<string, TensorInfo>();
    for (const { header } of shards) {
      for (const t of header.tensors) {
        const previous = tensors.get(t.name);
        if (previous) throw new ModelFormatError(`tensor "${t.name}" is stored twice, in ${previous.file} and ${t.file}`, { file: t.file, tensor: t.name });
        tensors.set(t.name, t);
      }
    }
    for (const [name, file] of index ?? []) {
      if (tensors.get(name)?.file !== file) {
        throw new ModelFormatError(`${SHARD_INDEX}: tensor "${name}" is mapped to ${file}, which does not contain it`, { file: SHARD_INDEX, tensor: name });
      }
    }
    return { shards, tensors, totalBytes: shards.reduce((a, s) => a + s.size, 0), close };
  } catch (e) {
    await close();
    throw e;
  }
}
