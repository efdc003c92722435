// Hub ids in the browser (worker engine) against a local server with the hub's URL layout (tests/helpers/hub_server.ts).
import { expect, test } from '@playwright/test';
import type * as Api from '../src/browser/index';
import { startHubServer, type HubServer } from '../tests/helpers/hub_server';

type Harness = Window & { webgpuInfer: typeof Api };

let hub: HubServer;
test.beforeAll(async () => {
  hub = await startHubServer({
    'test-org/tiny-dense': { dir: 'public/models/tiny-dense' },
    'test-org/sharded': { dir: 'tests/fixtures/models/llama-sharded' },
    'test-org/gated': { status: 401 },
  });
});
test.afterAll(() => hub.close());

test('hub ids load in the browser: single-file with tokenizer as its folder, sharded, and a gated repo as NetworkError', async ({ page }) => {
  await page.goto('/e2e/harness/worker.html');
  await page.waitForFunction(() => 'webgpuInfer' in window);
  const result = await page.evaluate(async (hubBase) => {
    const api = (window as unknown as Harness).webgpuInfer;
    const request = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
    const fromHub = await api.createEngine({ model: 'test-org/tiny-dense', hubBase, cache: false });
    const local = await api.createEngine({ model: '/models/tiny-dense/', cache: false });
    const tokens = [(await fromHub.complete(request)).tokens, (await local.complete(request)).tokens];
    await Promise.all([fromHub.dispose(), local.dispose()]);
    const sharded = await api.createEngine({ model: 'test-org/sharded', hubBase });
    const shardedLocal = await api.createEngine({ model: '/tests/fixtures/models/llama-sharded/', cache: false });
    const shardedLogits = [Array.from(await sharded.logits([3, 17, 250])), Array.from(await shardedLocal.logits([3, 17, 250]))];
    await Promise.all([sharded.dispose(), shardedLocal.dispose()]);
    const refused = (e: Error) => ({ name: e.name, message: e.message, isClass: e instanceof api.NetworkError });
    // with the Cache API the weights are downloaded first: that refusal names the repo too
    const gated = await Promise.all([false, true].map((cache) => api.createEngine({ model: 'test-org/gated', hubBase, cache }).catch(refused)));
    return { tokens, shardedLogits, gated };
  }, hub.base);
  expect(result.tokens[0]).toHaveLength(8);
  expect(result.tokens[0]).toEqual(result.tokens[1]);
  expect(result.shardedLogits[0]).toEqual(result.shardedLogits[1]);
  for (const gated of result.gated) {
    expect(gated).toMatchObject({ name: 'NetworkError', isClass: true });
    expect((gated as { message: string }).message).toContain('test-org/gated@main');
  }
  expect(hub.requests).toContain('GET /storage/test-org/sharded/model-00001-of-00002.safetensors');
});
