/**
 * Model files in the browser: a fetch that answers from the Cache API and stores what it downloads,
 * optional SHA-256 checks, parallel download of the weight files with byte progress, and the
 * public list/delete functions for cached models.
 */
import { AbortError, ModelFormatError } from '../contract/errors';
import { policyFetch, type NetworkPolicy } from '../model/network';
import type { LoadProgress } from '../contract/types';


export const MODEL_CACHE = 'webgpu-infer-models';
/**
 * Markers (empty answers keyed by file URL) of files a load stored and has not yet validated. A load that ends
 * without validating them (a page unloaded mid-load) leaves its markers: a later load does not trust those files.
 */
const PENDING_CACHE = 'webgpu-infer-pending';
const SHARD_INDEX = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';

export interface ModelFetchOptions {
  /** store downloads in the Cache API and answer from it (default true); turned off when the Cache API refuses a write */
  cache: boolean;
  /** told once when the Cache API refuses a write (quota, private mode): loading goes on without caching */
  onCacheRefused?: (file: string, error: unknown) => void;
  /** file name -> lowercase hex SHA-256; a mismatching download is rejected and never cached */
  expectedSha256?: Record<string, string>;
  /** stall timeout, retries (model/network.ts) for every download */
  network?: NetworkPolicy;
  /**
   * the URLs this load stored, marked pending: if the load fails they are deleted (forgetStored), once it succeeds
   * they are kept (commitStored), so the cache keeps validated files only
   */
  stored?: string[];
}

export interface CachedModel {
  /** the model folder URL (ends with '/') */
  url: string;
  files: string[];
  bytes: number;
}

function fileName(url: string): string {
  return new URL(url, location.href).pathname.split('/').pop() ?? url;
}

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Reads the whole body (hashing needs it all: WebCrypto has no streaming digest) and checks it. */
async function verified(response: Response, url: string, expected: string): Promise<Response> {
  const bytes = await response.arrayBuffer();
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new ModelFormatError(`${fileName(url)}: SHA-256 is ${actual}, expected ${expected}`, { file: fileName(url), expected, actual });
  }
  return new Response(bytes, { status: 200, headers: { 'content-type': response.headers.get('content-type') ?? 'application/octet-stream', 'content-length': String(bytes.byteLength) } });
}

/**
 * Model files are never HTML; servers with a single-page-app fallback (Vite, many static hosts) answer a
 * missing file with their index page and status 200. Report those as the 404 they stand for.
 */
function notFoundIfHtml(response: Response): Response {
  if (!response.ok || !response.headers.get('content-type')?.startsWith('text/html')) return response;
  return new Response(null, { status: 404, statusText: 'Not Found (the server answered with an HTML page)' });
}

/**
 * Headers for a stored copy. fetch hands over decoded bytes, so once a server compressed the file (gzip, brotli)
 * its Content-Encoding and Content-Length describe bytes the copy does not hold.
 */
function storedHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  if (isEncoded(headers)) {
    out.delete('content-encoding');
    out.delete('content-length');
  }
  return out;
}

const isEncoded = (headers: Headers) => (headers.get('content-encoding') ?? 'identity') !== 'identity';

/** The byte count of the decoded body when the headers give it (no Content-Length, or a compressed one: unknown). */
function decodedLength(headers: Headers): number | undefined {
  const length = headers.get('content-length');
  return length === null || isEncoded(headers) ? undefined : Number(length);
}

/** The first refusal turns caching off for the rest of the load, and is reported once. */
function refuse(options: ModelFetchOptions, file: string, error: unknown): undefined {
  if (options.cache) options.onCacheRefused?.(file, error);
  options.cache = false;
  return undefined;
}

/** The model cache; undefined when caching is off or the browser refuses to open it (some private modes). */
async function openCache(options: ModelFetchOptions, file: string): Promise<Cache | undefined> {
  return options.cache ? caches.open(MODEL_CACHE).catch((e: unknown) => refuse(options, file, e)) : undefined;
}

/**
 * Stores a response; false when the Cache API refused it (a DOMException such as QuotaExceededError). A body that
 * failed to arrive (TypeError) or an abort is not a refusal: it is thrown.
 */
async function store(cache: Cache, url: string, response: Response, options: ModelFetchOptions): Promise<boolean> {
  const body = watched(response.body);
  try {
    if (options.stored) {
      await (await caches.open(PENDING_CACHE)).put(url, new Response(null));
      options.stored.push(url);
    }
    await cache.put(url, new Response(body.stream, { status: response.status, statusText: response.statusText, headers: storedHeaders(response.headers) }));
    return true;
  } catch (e) {
    // Chromium's put() words any failure of the body as "TypeError: Failed to fetch"; the body's own error says what happened
    if (body.error() !== undefined) throw body.error();
    if (!(e instanceof DOMException) || e.name === 'AbortError') throw e;
    refuse(options, fileName(url), e);
    return false;
  }
}

/**
 * The cached copy of `url`, unless an earlier load stored it and never validated it (it was interrupted): that copy
 * is deleted, and the caller downloads the file again.
 */
async function validatedHit(cache: Cache, url: string, options: ModelFetchOptions): Promise<Response | undefined> {
  const hit = await cache.match(url);
  if (!hit || options.stored?.includes(url)) return hit;
  const pending = await caches.open(PENDING_CACHE);
  if (!(await pending.match(url))) return hit;
  await forgetStored([url]);
  return undefined;
}

/** The same bytes, remembering the error the stream failed with (a NetworkError from the network policy, say). */
function watched(body: ReadableStream<Uint8Array> | null): { stream: ReadableStream<Uint8Array> | null; error: () => unknown } {
  let failure: unknown;
  if (!body) return { stream: body, error: () => failure };
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        failure = e;
        throw e;
      }
    },
    cancel: (why) => reader.cancel(why),
  });
  return { stream, error: () => failure };
}

/** A fetch for URL model sources: HEAD and GET answered from the cache when possible; downloads verified and stored. */
export function modelFetch(options: ModelFetchOptions): typeof fetch {
  const networkFetch = policyFetch((input, init) => fetch(input, init), options.network);
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href).href;
    const head = init?.method === 'HEAD';
    const cache = await openCache(options, fileName(url));
    const hit = cache && (await validatedHit(cache, url, options));
    if (hit) return head ? new Response(null, { status: 200, headers: hit.headers }) : hit;
    let response = notFoundIfHtml(await networkFetch(url, init));
    if (head || !response.ok) return response;
    const expected = options.expectedSha256?.[fileName(url)];
    if (expected) response = await verified(response, url, expected);
    if (!cache) return response;
    // the file is stored completely before the caller reads it, so a later read never downloads it again
    if (await store(cache, url, response, options)) return (await cache.match(url))!;
    return notFoundIfHtml(await networkFetch(url, init)); // the refused write used up the body
  };
}

/** The weight files of a model folder: the shards named by the index, or the single checkpoint. */
async function weightFiles(base: string, doFetch: typeof fetch, signal: AbortSignal): Promise<string[]> {
  // the single file first, as the loader does (no 404 for an index most small models lack)
  if ((await doFetch(base + SINGLE_FILE, { method: 'HEAD', signal })).ok) return [SINGLE_FILE];
  const index = await doFetch(base + SHARD_INDEX, { signal });
  if (!index.ok) return [SINGLE_FILE];
  const parsed = (await index.json().catch(() => undefined)) as { weight_map?: Record<string, string> } | undefined;
  // a malformed index is reported by the loader, which names the field at fault
  return parsed?.weight_map ? [...new Set(Object.values(parsed.weight_map))] : [];
}

/**
 * Downloads every weight file at once (into the cache) so shards arrive in parallel, reporting bytes as
 * they arrive. The loader then reads them from the cache at disk speed.
 */
export async function downloadWeights(base: string, options: ModelFetchOptions, onProgress: (p: LoadProgress) => void, signal: AbortSignal, names?: string[]): Promise<void> {
  const networkFetch = policyFetch((input, init) => fetch(input, init), options.network);
  const files = names ?? await weightFiles(base, modelFetch(options), signal);
  const sizes = new Map<string, number | undefined>();
  const loaded = new Map<string, number>();
  const report = (file: string) => {
    const sum = (values: (number | undefined)[]) => values.reduce<number>((a, b) => a + (b ?? 0), 0);
    // one file of unknown size makes the total unknown: 0, an indeterminate progress
    const totalBytes = [...sizes.values()].includes(undefined) ? 0 : sum([...sizes.values()]);
    onProgress({ phase: 'download', loadedBytes: sum([...loaded.values()]), totalBytes, file });
  };
  await Promise.all(files.map(async (file) => {
    const cache = await openCache(options, file);
    if (!cache) return; // caching refused: the loader reads the file from the network
    const hit = await validatedHit(cache, base + file, options);
    if (hit) {
      const size = decodedLength(hit.headers);
      sizes.set(file, size);
      loaded.set(file, size ?? 0);
      return report(file);
    }
    const response = await networkFetch(base + file, { signal });
    if (!response.ok || !response.body) return; // the loader reports the missing file by name
    sizes.set(file, decodedLength(response.headers));
    loaded.set(file, 0);
    const counted = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded.set(file, loaded.get(file)! + chunk.byteLength);
        // a cross-origin server may hide its Content-Encoding: more bytes than announced means the length was not theirs
        if (loaded.get(file)! > (sizes.get(file) ?? Infinity)) sizes.set(file, undefined);
        report(file);
        controller.enqueue(chunk);
      },
    }));
    let stored = new Response(counted, { headers: response.headers });
    const expected = options.expectedSha256?.[file];
    if (expected) stored = await verified(stored, base + file, expected);
    await store(cache, base + file, stored, options);
  })).catch((e: unknown) => {
    if (signal.aborted) throw new AbortError(`downloading ${base} was aborted`, { model: base });
    throw e;
  });
}

/** Deletes what a failed load stored: a file the loader refused (an error page, a cut-off copy) must not be served again. */
export async function forgetStored(urls: string[]): Promise<void> {
  await Promise.all([MODEL_CACHE, PENDING_CACHE].map((name) => unmark(name, urls)));
}

/** Keeps what a successful load stored: its files are validated, no longer pending. */
export async function commitStored(urls: string[]): Promise<void> {
  await unmark(PENDING_CACHE, urls);
}

async function unmark(name: string, urls: string[]): Promise<void> {
  if (urls.length === 0) return;
  const cache = await caches.open(name).catch(() => undefined);
  await Promise.all(urls.map((url) => cache?.delete(url).catch(() => false)));
}

/** Model folders with files in the cache, with their total size. */
export async function listCachedModels(): Promise<CachedModel[]> {
  const cache = await caches.open(MODEL_CACHE);
  const byFolder = new Map<string, CachedModel>();
  for (const request of await cache.keys()) {
    const folder = request.url.slice(0, request.url.lastIndexOf('/') + 1);
    const model = byFolder.get(folder) ?? { url: folder, files: [], bytes: 0 };
    byFolder.set(folder, model);
    model.files.push(request.url.slice(folder.length));
    const response = await cache.match(request);
    model.bytes += Number(response?.headers.get('content-length') ?? 0);
  }
  return [...byFolder.values()];
}

/** Removes every cached file under the model folder `url`; returns how many were removed. */
export async function deleteCachedModel(url: string): Promise<number> {
  const folder = new URL(url.endsWith('/') ? url : `${url}/`, location.href).href;
  const cache = await caches.open(MODEL_CACHE);
  let removed = 0;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(folder) && (await cache.delete(request))) removed++;
  }
  const pending = await caches.open(PENDING_CACHE);
  for (const request of await pending.keys()) if (request.url.startsWith(folder)) await pending.delete(request);
  return removed;
}
