// Hub ids (`owner/name` + revision, hub base overridable) against a local server with the hub's URL layout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadProgress } from '../src/contract/types';
import { InvalidRequestError, NetworkError, ModelFormatError } from '../src/contract/errors';
import { hubFolderUrl, hubSource, isHubId } from '../src/model/hub';
import { Tokenizer } from '../src/model/tokenizer';
import { createEngine } from '../src/node/index';
import { main as cli } from '../src/node/cli';
import { HUB_COMMIT, startHubServer, type HubServer } from './helpers/hub_server';

const DENSE = 'public/models/tiny-dense';
const SHARDED = 'tests/fixtures/models/llama-sharded';

describe('hub ids', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await startHubServer({
      'test-org/tiny-dense': { dir: DENSE },
      'test-org/sharded': { dir: SHARDED },
      'test-org/old-name': { renamedTo: 'test-org/tiny-dense' },
      'test-org/gated': { status: 401 },
      'test-org/private': { status: 403 },
    });
  });
  afterAll(() => hub.close());

  it('tells hub ids from paths and builds resolve URLs', () => {
    for (const id of ['Qwen/Qwen3-0.6B', 'meta-llama/Llama-3.2-1B-Instruct', 'a/b.c_d']) expect(isHubId(id)).toBe(true);
    for (const path of ['/models/x', './models/x', 'models/x/', 'https://h/a/b', 'a/b/c', 'tiny', 'a/..', '../a']) expect(isHubId(path)).toBe(false);
    expect(hubFolderUrl({ repo: 'Qwen/Qwen3-0.6B' })).toBe('https://huggingface.co/Qwen/Qwen3-0.6B/resolve/main/');
    expect(hubFolderUrl({ repo: 'o/n', revision: 'refs/pr/1', hubBase: 'http://mirror.local/' })).toBe('http://mirror.local/o/n/resolve/refs%2Fpr%2F1/');
  });

  it('loads a single-file model with its tokenizer, chat template and generation config, as the folder does', async () => {
    const progress: LoadProgress[] = [];
    const fromHub = await createEngine({ model: 'test-org/tiny-dense', hubBase: hub.base, onProgress: (p) => progress.push(p) });
    const local = await createEngine({ model: DENSE });
    const request = { prompt: 'Once upon a time', maxTokens: 12, stopAtEos: false };
    expect((await fromHub.complete(request)).tokens).toEqual((await local.complete(request)).tokens);
    expect(await fromHub.tokenize('Hello there')).toEqual(await local.tokenize('Hello there'));
    expect(progress.at(-1)?.phase).toBe('ready');
    await Promise.all([fromHub.dispose(), local.dispose()]);
    // the weights came through the storage redirect; optional files were asked for, and their absence was no error
    expect(hub.requests).toContain('GET /storage/test-org/tiny-dense/model.safetensors');
    expect(hub.requests.some((r) => r.startsWith('HEAD /test-org/tiny-dense/resolve/main/chat_template.jinja'))).toBe(true);
  });

  it('discovers sharded weights, at a pinned revision and through a renamed repo', async () => {
    const sharded = await createEngine({ model: 'test-org/sharded', revision: HUB_COMMIT, hubBase: hub.base });
    const local = await createEngine({ model: SHARDED });
    const ids = [3, 17, 250, 9];
    expect(await sharded.logits(ids)).toEqual(await local.logits(ids));
    await Promise.all([sharded.dispose(), local.dispose()]);
    expect(hub.requests).toContain(`GET /storage/test-org/sharded/model-00002-of-00002.safetensors`);
    const renamed = await Tokenizer.load(hubSource({ repo: 'test-org/old-name', hubBase: hub.base }));
    expect(renamed.vocabSize).toBe(2048);
  });

  it('gives NetworkError naming the repo for gated (401) and private (403) repos, ModelFormatError for a missing revision', async () => {
    for (const [repo, status] of [['test-org/gated', 401], ['test-org/private', 403]] as const) {
      const error = await createEngine({ model: repo, hubBase: hub.base }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NetworkError);
      expect((error as Error).message).toContain(`${repo}@main`);
      expect((error as NetworkError).details).toMatchObject({ repo, status });
    }
    const missing = await createEngine({ model: 'test-org/tiny-dense', revision: 'no-such-branch', hubBase: hub.base }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelFormatError);
    expect((missing as Error).message).toMatch(/config\.json not found in test-org\/tiny-dense@no-such-branch/);
    await expect(createEngine({ model: 'test-org/tiny-dense', revision: '' })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('the CLI takes a hub id', async () => {
    const out: string[] = [];
    const log = console.log;
    console.log = (line: string) => out.push(line);
    try {
      expect(await cli(['generate', '--model', 'test-org/tiny-dense', '--hub-base', hub.base, '--prompt', 'Hi', '--max-tokens', '3', '--json'])).toBe(0);
    } finally {
      console.log = log;
    }
    expect(JSON.parse(out.join('\n')).tokens).toHaveLength(3);
  });
});
