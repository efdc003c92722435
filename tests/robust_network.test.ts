/**
 * The network policy against fault-injecting local servers (Node; the browser's downloads use the same policy):
 * stalls time out, cut-off bodies, server errors, access denial and redirect loops are typed NetworkErrors naming
 * the URL, a server error that clears is retried, and HTML where JSON belongs is a ModelFormatError. After every
 * fault the same server, healthy, loads the model with the same greedy tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError, NetworkError } from '../src/contract/errors';
import { createEngine } from '../src/node/index';
import { startStaticServer, type StaticServer } from './helpers/static_server';

const REQUEST = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
/** short, so a stall is seen quickly; the default is 30 s */
const STALL_MS = 700;
let server: StaticServer;
let expected: number[];

beforeAll(async () => {
  server = await startStaticServer('public/models');
  const engine = await createEngine({ model: 'public/models/tiny-dense' });
  expected = (await engine.complete(REQUEST)).tokens;
  await engine.dispose();
});
afterAll(() => server?.close());

/** Loads tiny-dense from the server with the faults in `flags` applied to every file; its tokens, or the error. */
async function loadWith(flags: string) {
  const started = performance.now();
  const outcome = await createEngine({ model: `${server.url}/~${flags}/tiny-dense/`, stallTimeoutMs: STALL_MS }).then(
    async (engine) => {
      const tokens = (await engine.complete(REQUEST)).tokens;
      await engine.dispose();
      return tokens;
    },
    (e: unknown) => e,
  );
  return { outcome, ms: performance.now() - started };
}

describe('network faults', () => {
  const faults: [string, RegExp][] = [
    ['stall', /stalled \(no data for 0\.7 s/],
    ['cut', /cut off after \d+ bytes/],
    ['status500', /server error \(HTTP 500\)/],
    ['status403', /access denied \(HTTP 403\)/],
    ['status401', /access denied \(HTTP 401\)/],
    ['loop', /could not be fetched \(.*redirect/i],
  ];
  it.each(faults)('%s is a NetworkError naming the URL, in bounded time', async (flags, message) => {
    const { outcome, ms } = await loadWith(flags);
    expect(outcome).toBeInstanceOf(NetworkError);
    expect((outcome as Error).message).toMatch(message);
    expect((outcome as NetworkError).details.url).toMatch(new RegExp(`^${server.url}/~${flags}/tiny-dense/`));
    expect(ms).toBeLessThan(15_000);
    // healthy again: the same server loads the same tokens
    expect((await loadWith('')).outcome).toEqual(expected);
  });

  it('a 503 that clears is retried with backoff and loads', async () => {
    const before = server.requests.length;
    expect((await loadWith('flaky')).outcome).toEqual(expected);
    // the first answer for each file is 503: loading went on only through the retries
    expect(server.requests.slice(before).filter((r) => r.path === '/tiny-dense/config.json').length).toBeGreaterThanOrEqual(2);
  });

  it.each(['cutonce', 'cutonce,ranges'])('a body cut off once (%s) resumes and loads the same tokens', async (flags) => {
    const before = server.requests.length;
    expect((await loadWith(flags)).outcome).toEqual(expected);
    // tokenizer.json is read once, whole (the weights' header may be read first on its own)
    const reads = server.requests.slice(before).filter((r) => r.path === '/tiny-dense/tokenizer.json' && r.method === 'GET');
    // with Range the second request asks for the rest only; without it the whole file comes again and the start is skipped
    expect(reads.map((r) => r.range !== undefined)).toEqual(flags.includes('ranges') ? [false, true] : [false, false]);
  });

  it('an HTML page where JSON belongs is a ModelFormatError, not a crash', async () => {
    const { outcome } = await loadWith('html');
    expect(outcome).toBeInstanceOf(ModelFormatError);
    expect((outcome as Error).message).toMatch(/config\.json/);
  });

  it('the stall timeout is validated', async () => {
    await expect(createEngine({ model: `${server.url}/tiny-dense/`, stallTimeoutMs: -1 })).rejects.toThrow(/stallTimeoutMs/);
  });
});
