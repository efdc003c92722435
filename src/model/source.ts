import { AbortError, ModelFormatError } from '../contract/errors';
import { policyFetch, type NetworkPolicy } from './network';

/** One file of a model folder: its size if known, and its bytes as a stream of chunks (never the whole file at once). */
export interface BinaryFile {
  /**
   * Exact byte count where the source knows it (files, directories). URL sources leave it out: a server may send
   * no Content-Length, or one that counts compressed bytes (gzip, brotli) while fetch hands over decoded ones.
   */
  size?: number;
  stream(): AsyncIterable<Uint8Array>;
}

/** A Hugging Face model folder, wherever it lives (directory, URL base, dropped files). */
export interface ModelSource {
  /** Where the model comes from, for messages. */
  describe: string;
  exists(name: string): Promise<boolean>;
  /** A missing file is a ModelFormatError naming it. */
  text(name: string): Promise<string>;
  binary(name: string): Promise<BinaryFile>;
}

export interface UrlSourceOptions {
  /** Defaults to globalThis.fetch under `network`; the browser passes its cached fetch, under the policy too. */
  fetch?: typeof fetch;
  network?: NetworkPolicy;
  /** Called with the byte count of every chunk received by binary streams. */
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
  /** how messages name the source (default the base URL) */
  describe?: string;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} was aborted`);
}

export function missingFile(source: ModelSource, name: string): ModelFormatError {
  return new ModelFormatError(`${name} not found in ${source.describe}`, { file: name });
}

/** Model files under a URL base (`/models/tiny-dense/` or `https://host/repo/resolve/main/`). */
export function urlSource(base: string, options: UrlSourceOptions = {}): ModelSource {
  const doFetch = options.fetch ?? policyFetch((input, init) => globalThis.fetch(input, init), options.network);
  const root = base.endsWith('/') ? base : `${base}/`;
  const url = (name: string) => `${root}${name}`;
  const source: ModelSource = {
    describe: options.describe ?? root,
    async exists(name) {
      throwIfAborted(options.signal, `loading ${name}`);
      const response = await doFetch(url(name), { method: 'HEAD', signal: options.signal });
      return response.ok;
    },
    async text(name) {
      throwIfAborted(options.signal, `loading ${name}`);
      const response = await doFetch(url(name), { signal: options.signal });
      if (!response.ok) throw missingFile(source, name);
      return response.text();
    },
    async binary(name) {
      throwIfAborted(options.signal, `loading ${name}`);
      const response = await doFetch(url(name), { signal: options.signal });
      if (!response.ok || !response.body) throw missingFile(source, name);
      const body = response.body;
      return { stream: () => readableChunks(body, options.onBytes) };
    },
  };
  return source;
}

async function* readableChunks(body: ReadableStream<Uint8Array>, onBytes?: (n: number) => void): AsyncIterable<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onBytes?.(value.byteLength);
      yield value;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/** Files chosen or dropped by the user (a FileList or File[]); matched by base name. */
export function fileListSource(files: ArrayLike<File>): ModelSource {
  const byName = new Map<string, File>();
  for (const file of Array.from(files)) byName.set(file.name.split('/').pop() ?? file.name, file);
  const source: ModelSource = {
    describe: `the selected files (${[...byName.keys()].sort().join(', ')})`,
    exists: async (name) => byName.has(name),
    async text(name) {
      const file = byName.get(name);
      if (!file) throw missingFile(source, name);
      return file.text();
    },
    async binary(name) {
      const file = byName.get(name);
      if (!file) throw missingFile(source, name);
      return { size: file.size, stream: () => readableChunks(file.stream()) };
    },
  };
  return source;
}

/** An in-memory file set (tests, and bytes produced elsewhere); chunked like a network stream. */
export function memorySource(files: Record<string, Uint8Array | string>, chunkBytes = 1 << 16): ModelSource {
  const source: ModelSource = {
    describe: 'in-memory model files',
    exists: async (name) => name in files,
    async text(name) {
      const data = files[name];
      if (data === undefined) throw missingFile(source, name);
      return typeof data === 'string' ? data : new TextDecoder().decode(data);
    },
    async binary(name) {
      const data = files[name];
      if (data === undefined) throw missingFile(source, name);
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      return { size: bytes.byteLength, stream: () => bytesInChunks(bytes, chunkBytes) };
    },
  };
  return source;
}

async function* bytesInChunks(bytes: Uint8Array, chunkBytes: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) yield bytes.subarray(at, at + chunkBytes);
}
