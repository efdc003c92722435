/**
 * Model files in the browser: a fetch that answers from the Cache API and stores what it downloads,
 * optional SHA-256 checks, parallel download of the weight files with byte progress, and the
 * public list/delete functions for cached models.
 */
import { AbortError, ModelFormatError } from '../contract/errors';
import type { LoadProgress } from '../contract/types';

export const MODEL_CACHE = 'webgpu-infer-models';
const SHARD_INDEX = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';

export interface ModelFetchOptions {
  /** store downloads in the Cache API and answer from it (default true) */
  cache: boolean;
  /** file name -> lowercase hex SHA-256; a mismatching download is rejected and never cached */
  expectedSha256?: Record<string, string>;
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

/** A fetch for URL model sources: HEAD and GET answered from the cache when possible; downloads verified and stored. */
export function modelFetch(options: ModelFetchOptions): typeof fetch {
  const cache = options.cache ? caches.open(MODEL_CACHE) : undefined;
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href).href;
    const head = init?.method === 'HEAD';
    const hit = await (await cache)?.match(url);
    if (hit) return head ? new Response(null, { status: 200, headers: hit.headers }) : hit;
    let response = notFoundIfHtml(await fetch(url, init));
    if (head || !response.ok) return response;
    const expected = options.expectedSha256?.[fileName(url)];
    if (expected) response = await verified(response, url, expected);
    if (!cache) return response;
    // the file is stored completely before the caller reads it, so a later read never downloads it again
    await (await cache).put(url, response);
    return (await (await cache).match(url))!;
  };
}

/** The weight files of a model folder: the shards named by the index, or the single checkpoint. */
async function weightFiles(base: string, doFetch: typeof fetch, signal: AbortSignal): Promise<string[]> {
  const index = await doFetch(base + SHARD_INDEX, { signal });
  if (!index.ok) return [SINGLE_FILE];
  const parsed = (await index.json().catch(() => undefined)) as { weight_map?: Record<string, string> } | undefined;
  // a malformed index is reported by the loader, which names the field at fault
  return parsed?.weight_map ? [...new Set(Object.values(parsed.weight_map))] : [];
}

/**
 * Downloads every weight file (`names`, else those of the folder's checkpoint) at once (into the cache) so shards arrive in parallel, reporting bytes as
 * they arrive. The loader then reads them from the cache at disk speed.
 */
export async function downloadWeights(base: string, options: ModelFetchOptions, onProgress: (p: LoadProgress) => void, signal: AbortSignal, names?: string[]): Promise<void> {
  const files = names ?? await weightFiles(base, modelFetch(options), signal);
  const sizes = new Map<string, number>();
  const loaded = new Map<string, number>();
  const report = (file: string) => {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    onProgress({ phase: 'download', loadedBytes: sum(loaded), totalBytes: sum(sizes), file });
  };
  await Promise.all(files.map(async (file) => {
    const cache = await caches.open(MODEL_CACHE);
    const hit = await cache.match(base + file);
    if (hit) {
      const size = Number(hit.headers.get('content-length') ?? 0);
      sizes.set(file, size);
      loaded.set(file, size);
      return report(file);
    }
    const response = await fetch(base + file, { signal });
    if (!response.ok || !response.body) return; // the loader reports the missing file by name
    sizes.set(file, Number(response.headers.get('content-length') ?? 0));
    loaded.set(file, 0);
    const counted = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded.set(file, loaded.get(file)! + chunk.byteLength);
        report(file);
        controller.enqueue(chunk);
      },
    }));
    let stored = new Response(counted, { headers: response.headers });
    const expected = options.expectedSha256?.[file];
    if (expected) stored = await verified(stored, base + file, expected);
    await cache.put(base + file, stored);
  })).catch((e: unknown) => {
    if (signal.aborted) throw new AbortError(`downloading ${base} was aborted`, { model: base });
    throw e;
  });
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
  return removed;
}
