import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

/** Debian's Chromium (never a downloaded browser); override with CHROMIUM_PATH. */
const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']
  .find((p): p is string => !!p && existsSync(p));

/** SwiftShader unless WEBGPU_INFER_ADAPTER=hardware (a machine with a real GPU). */
const adapterFlags = process.env.WEBGPU_INFER_ADAPTER === 'hardware' ? [] : ['--use-webgpu-adapter=swiftshader'];

/** the dev server's port; E2E_PORT moves it when 5174 is taken */
const PORT = Number(process.env.E2E_PORT ?? 5174);

export default defineConfig({
  testDir: 'e2e',
  testIgnore: ['consumer/**'], // npm run test:consumer (e2e/consumer/playwright.config.ts)
  timeout: 180_000,
  expect: { timeout: 60_000 },
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--enable-unsafe-webgpu', '--enable-features=Vulkan', ...adapterFlags,
      ],
    },
  },
  webServer: {
    command: `npx vite --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/index.html`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
