#!/usr/bin/env node
// Bundles the GPU proof run (bench/device.ts) into one ES module for the device kit, with the project's build
// tooling (Vite): WGSL sources and dependencies inlined; only `webgpu` (Dawn, carried beside it) and node: stay
// imports.   node scripts/device/bundle.mjs <outDir>   ->   <outDir>/device.js
import { build } from 'vite';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const outDir = path.resolve(process.argv[2] ?? '.device-kit');
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  publicDir: false,
  ssr: { noExternal: true, external: ['webgpu'] },
  build: {
    ssr: true,
    outDir,
    emptyOutDir: false,
    target: 'node20',
    minify: true,
    rollupOptions: {
      input: { device: 'scripts/device/entry.ts' },
      external: [/^node:/, 'webgpu'],
      output: { format: 'es', entryFileNames: '[name].js', codeSplitting: false },
    },
  },
});
