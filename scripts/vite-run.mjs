#!/usr/bin/env node
// Runs a TypeScript entry in Node with Vite's transforms (WGSL `?raw` imports, import.meta.glob),
// e.g. `node scripts/vite-run.mjs bench/kernels.ts --json`. The entry reads its own process.argv.
import { createServer } from 'vite';
import { resolve } from 'node:path';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/vite-run.mjs <entry.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], entry, ...rest];
const server = await createServer({ logLevel: 'error', server: { middlewareMode: true, hmr: false, ws: false }, appType: 'custom', optimizeDeps: { noDiscovery: true, include: [] } });
let code = 0;
try {
  const mod = await server.ssrLoadModule(resolve(entry));
  if (typeof mod.main === 'function') code = (await mod.main(rest)) ?? 0;
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  code = 1;
} finally {
  await server.close();
}
process.exit(code);
