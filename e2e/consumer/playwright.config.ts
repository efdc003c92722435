import { defineConfig } from '@playwright/test';
import base from '../../playwright.config';

/** `npm run test:consumer`: the packed package in a fresh app (see prepare.ts); no dev server of this repository. */
export default defineConfig({
  ...base,
  testDir: '.',
  testIgnore: ['app/**'],
  testMatch: '*.spec.ts',
  globalSetup: './prepare.ts',
  outputDir: '../../test-results/consumer',
  webServer: undefined,
  use: { ...base.use, baseURL: undefined },
});
