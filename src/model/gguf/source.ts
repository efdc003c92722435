import { ModelFormatError } from '../../contract/errors';
import { ByteReader } from '../byte_reader';
import type { OpenCheckpoint, OpenShard } from '../checkpoint';
import { parseConfig } from '../config';
import type { StoredDtype } from '../safetensors';
import { missingFile, type ModelSource } from '../source';
import { FACTOR_TENSORS, ggufArchitecture } from './architectures';
import { ggufConfigJson, Metadata } from './config';
import { readGgufHeader, type GgufHeader } from './header';
import { checkpointHeader, type CheckpointMapping } from './tensors';
import { f16BitsToF32 } from '../../kernels/quantize';
import { ggufTokenizer } from './tokenizer';

/** `name-00001-of-00003.gguf`: one file of a split model. */
const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

/** True for a model given as a `.gguf` file (path, URL or file name). */
export const isGgufName = (name: string) => /\.gguf$/i.test(name.split(/[?#]/)[0]);

/** The files of a model whose first file is `name` (all splits of a split model, else just `name`). */
export function ggufFileNames(name: string): string[] {
  const split = SPLIT.exec(name);
  if (!split) return [name];
  const count = Number(split[3]);
  return Array.from({ length: count }, (_, i) => `${split[1]}-${String(i + 1).padStart(5, '0')}-of-${split[3]}.gguf`);
}

/**
 * A GGUF model (one file, or the splits named after the first) read through `files`, which serves its bytes:
 * a model folder in the runtime's terms. config.json, tokenizer.json and tokenizer_config.json are made from
 * the metadata; the weights are a checkpoint whose tensors keep their GGUF storage. The headers are parsed once
 * (the first file's holds the metadata); opening the checkpoint streams each file again from the start and
 * skips its header, so no file is buffered and servers need not support Range requests.
 */
export class GgufSource implements ModelSource {
  readonly describe: string;
  private headers?: Promise<GgufHeader[]>;
  private virtual?: Promise<Map<string, string>>;

  constructor(private readonly files: ModelSource, private readonly names: string[], private readonly signal?: AbortSignal) {
    this.describe = `${files.describe}${names[0]}`;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.virtualFiles()).has(name);
  }

  async text(name: string): Promise<string> {
    const text = (await this.virtualFiles()).get(name);
    if (text === undefined) throw missingFile(this, name);
    return text;
  }

  async binary(name: string): Promise<never> {
    throw missingFile(this, name);
  }

  /** The weights: every file positioned at its first tensor byte, tensors under their Hugging Face names. */
  async checkpoint(): Promise<OpenCheckpoint> {
    const headers = await this.parsedHeaders();
    const mapping = await this.mapping();
    const shards: OpenShard[] = [];
    const close = async () => {
      await Promise.all(shards.map((s) => s.reader.close()));
    };
    try {
      for (const header of headers) {
        const binary = await this.files.binary(header.file);
        const reader = new ByteReader(binary.stream(), header.file, this.signal);
        shards.push({ header: checkpointHeader(header, mapping), size: header.fileSize, reader });
        await reader.skip(header.dataStart);
      }
      const tensors = new Map(shards.flatMap((s) => s.header.tensors.map((t) => [t.name, t] as const)));
      return { shards, tensors, totalBytes: shards.reduce((a, s) => a + s.size, 0), close };
    } catch (e) {
      await close();
      throw e;
    }
  }

  /** Each tensor's storage, by Hugging Face name (for the memory estimate before loading). */
  async tensorDtypes(): Promise<Map<string, StoredDtype>> {
    const headers = await this.parsedHeaders();
    const mapping = await this.mapping();
    return new Map(headers.flatMap((h) => checkpointHeader(h, mapping).tensors.map((t) => [t.name, t.dtype] as const)));
  }

  private async mapping(): Promise<CheckpointMapping> {
    const meta = new Metadata((await this.parsedHeaders())[0]);
    const json = JSON.parse(await this.text('config.json')) as { architectures: string[] };
    const config = parseConfig(json);
    const arch = ggufArchitecture(meta);
    return {
      hf: json.architectures[0],
      interleavedQk: arch.interleavedQk ? { heads: config.heads, kvHeads: config.kvHeads } : undefined,
      normsStoreOnePlusW: arch.normsStoreOnePlusW,
    };
  }

  /** The values of the factor tensors the config needs (F32 or F16 vectors; each file streamed up to them). */
  private async factors(headers: GgufHeader[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const header of headers) {
      const wanted = header.tensors.filter((t) => FACTOR_TENSORS.includes(t.name));
      if (wanted.length === 0) continue;
      const reader = new ByteReader((await this.files.binary(header.file)).stream(), header.file, this.signal);
      try {
        for (const t of wanted) {
          await reader.skip(t.start - reader.position);
          const bytes = (await reader.read(t.end - t.start)).slice();
          if (t.type.stored !== 'F32' && t.type.stored !== 'F16') throw new ModelFormatError(`${header.file}: tensor "${t.name}" is ${t.type.name}; F32 or F16 expected`, { file: header.file, tensor: t.name });
          out.set(t.name, Array.from(t.type.stored === 'F32' ? new Float32Array(bytes.buffer) : f16BitsToF32(new Uint16Array(bytes.buffer))));
        }
      } finally {
        await reader.close();
      }
    }
    return out;
  }

  private parsedHeaders(): Promise<GgufHeader[]> {
    this.headers ??= Promise.all(this.names.map(async (name) => {
      const binary = await this.files.binary(name);
      const reader = new ByteReader(binary.stream(), name, this.signal);
      try {
        return await readGgufHeader(reader, binary.size);
      } finally {
        await reader.close();
      }
    })).then((headers) => checkSplits(headers));
    return this.headers;
  }

  private virtualFiles(): Promise<Map<string, string>> {
    this.virtual ??= this.parsedHeaders().then(async (headers) => {
      const meta = new Metadata(headers[0]);
      const files = new Map([['config.json', JSON.stringify(ggufConfigJson(meta, headers, await this.factors(headers)))]]);
      // `no_vocab` files (llama.cpp's name for a model without a vocabulary) take token ids only
      if (!['no_vocab', 'none', undefined].includes(meta.get('tokenizer.ggml.model') as string | undefined)) {
        const { tokenizerJson, tokenizerConfig } = ggufTokenizer(meta);
        files.set('tokenizer.json', JSON.stringify(tokenizerJson));
        files.set('tokenizer_config.json', JSON.stringify(tokenizerConfig));
      }
      return files;
    });
    return this.virtual;
  }
}

/** Split files must say they are split i of n, in order. */
function checkSplits(headers: GgufHeader[]): GgufHeader[] {
  if (headers.length === 1) return headers;
  headers.forEach((h, i) => {
    const no = h.metadata.get('split.no');
    const count = h.metadata.get('split.count');
    if (Number(no) !== i || Number(count) !== headers.length) {
      throw new ModelFormatError(`${h.file}: split.no ${String(no)} of split.count ${String(count)} does not match its place ${i} of ${headers.length}`, { file: h.file, field: 'split.no' });
    }
  });
  return headers;
}

export const isGgufSource = (source: ModelSource): source is GgufSource => source instanceof GgufSource;
