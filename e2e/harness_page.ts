/** What the Chromium specs share: the worker harness page and a cross-origin server of public/models. */
import { test, type Page } from '@playwright/test';
import type * as Api from '../src/browser/index';
import { startStaticServer, type StaticServer } from '../tests/helpers/static_server';

/** What e2e/harness/worker.ts puts on window (specs add what their pages set). */
export type Harness = Window & { webgpuInfer: typeof Api };

export async function openHarness(page: Page): Promise<void> {
  await page.goto('/e2e/harness/worker.html');
  await page.waitForFunction(() => 'webgpuInfer' in window);
}

/** A static server of public/models on its own origin for the spec file (started before its tests, closed after): call the getter inside tests. */
export function useModelServer(): () => StaticServer {
  let server: StaticServer | undefined;
  test.beforeAll(async () => {
    server = await startStaticServer('public/models');
  });
  test.afterAll(() => server?.close());
  return () => server!;
}
