import { expect, test } from '@playwright/test';

test('kernel cases pass in Chromium WebGPU', async ({ page }) => {
  await page.goto('/e2e/harness/kernels.html');
  const handle = await page.waitForFunction(() => (window as unknown as { kernelResults?: unknown }).kernelResults, null, { timeout: 170_000 });
  const results = (await handle.jsonValue()) as { error?: string; adapter: string; outcomes: { suite: string; name: string; pass: boolean; error: number; failure?: string }[] };
  expect(results.error).toBeUndefined();
  expect(results.outcomes.length).toBeGreaterThan(0);
  const failed = results.outcomes.filter((o) => !o.pass);
  expect(failed, JSON.stringify(failed)).toEqual([]);
});
