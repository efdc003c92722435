#!/usr/bin/env node
// CLI entry: runs the built CLI (dist/node/cli.js; `npm run build` makes it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));
if (!existsSync(built)) {
  console.error('webgpu-infer: dist/node/cli.js is missing; run `npm run build` first.');
  process.exit(2);
}
const { main } = await import(built);
process.exitCode = await main(process.argv.slice(2));
