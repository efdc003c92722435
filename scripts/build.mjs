#!/usr/bin/env node
// Builds the package: dist/node (Node entry + CLI, SSR build so WGSL is inlined) and dist/api (browser entry + worker).
import { build } from 'vite';

await build({
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir: 'dist/node',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: { input: { index: 'src/node/index.ts', cli: 'src/node/cli.ts' }, output: { format: 'es', entryFileNames: '[name].js' } },
  },
});
await build({
  logLevel: 'warn',
  build: {
    outDir: 'dist/api',
    emptyOutDir: true,
    lib: { entry: 'src/browser/index.ts', formats: ['es'], fileName: 'index' },
    rollupOptions: { external: ['onnxruntime-web'] },
  },
});
console.log('built dist/node (index.js, cli.js) and dist/api (index.js)');
