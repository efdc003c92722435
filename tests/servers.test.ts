/**
 * The loader behind ordinary servers (Node; e2e/servers.spec.ts does the same in Chromium): without
 * Content-Length, with gzip or brotli, through redirects, with and without Range support, the URL model
 * loads and generates exactly what the directory does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, LoadProgress } from '../src/contract/types';
import { ModelFormatError } from '../src/contract/errors';
import { createEngine } from '../src/node/index';
import { startStaticServer, type StaticServer } from './helpers/static_server';

const MODEL_DIR = 'public/models/tiny-dense';
const REQUEST = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
let server: StaticServer;
let expected: number[];

beforeAll(async () => {
  server = await startStaticServer('public/models');
  const engine = await createEngine({ model: MODEL_DIR });
  expected = (await engine.complete(REQUEST)).tokens;
  await engine.dispose();
});
afterAll(() => server?.close());

async function loadFrom(flags: string): Promise<{ engine: Engine; progress: LoadProgress[] }> {
  const progress: LoadProgress[] = [];
  const engine = await createEngine({ model: `${server.url}/~${flags}/tiny-dense/`, onProgress: (p) => progress.push(p) });
  return { engine, progress };
}

describe('URL models behind ordinary servers', () => {
  it.each(['', 'nolength', 'gzip', 'br', 'gzip,nolength', 'redirect', 'ranges', 'redirect,br,ranges'])('serves %j', async (flags) => {
    const { engine, progress } = await loadFrom(flags);
    try {
      expect((await engine.complete(REQUEST)).tokens).toEqual(expected);
    } finally {
      await engine.dispose();
    }
    // the weights' total comes from the safetensors header, whatever the server said about lengths
    const weights = progress.filter((p) => p.phase === 'weights');
    expect(weights.at(-1)!.totalBytes).toBeGreaterThan(8_000_000);
    expect(weights.at(-1)!.loadedBytes).toBe(weights.at(-1)!.totalBytes);
    expect(server.requests.filter((r) => r.range), 'the loader never needs a Range request').toEqual([]);
  });

  it('a file longer than its header describes is a ModelFormatError, also without Content-Length', async () => {
    for (const flags of ['extra', 'extra,nolength,gzip']) {
      const error = await loadFrom(flags).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).message).toMatch(/model\.safetensors holds more bytes than its header describes/);
    }
  });
});
