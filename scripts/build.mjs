#!/usr/bin/env node
// The library build (the demo has its own, vite.config.ts, which this never reads):
//   dist/index.js + dist/worker.js   browser entry and its module Worker, self-contained (dependencies bundled)
//   dist/node/index.js, cli.js       Node entry and CLI (dependencies and `webgpu` stay imports)
//   dist/types/                      .d.ts of the entries and of what they reference
// `--minify` also minifies (tests use it to check that nothing depends on class or function names).
import { build } from 'vite';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const dist = path.join(root, 'dist');
const minify = process.argv.includes('--minify');
const outDir = process.argv.includes('--out') ? path.resolve(process.argv[process.argv.indexOf('--out') + 1]) : dist;

/**
 * In src/browser/index.ts the Worker is `new URL('./worker.ts', import.meta.url)`, which Vite bundles for the demo.
 * Here worker.js is an entry of its own: the URL is hidden from Vite's worker plugin and written back as the
 * plain pattern that consumer bundlers (Vite, webpack 5, esbuild, Rollup) and static servers understand.
 */
const WORKER_MARK = '__WEBGPU_INFER_WORKER_URL__';
const workerUrl = {
  name: 'webgpu-infer-worker-url',
  enforce: 'pre',
  transform(code, id) {
    if (!id.endsWith('src/browser/index.ts')) return null;
    const out = code.replace("new URL('./worker.ts', import.meta.url)", `new URL(${WORKER_MARK}, import.meta.url)`);
    if (out === code) this.error('src/browser/index.ts no longer creates its Worker from ./worker.ts');
    return out;
  },
  renderChunk(code) {
    return code.includes(WORKER_MARK) ? code.replaceAll(WORKER_MARK, JSON.stringify('./worker.js')) : null;
  },
};

const common = { configFile: false, root, logLevel: 'warn', publicDir: false };

rmSync(outDir, { recursive: true, force: true });
await build({
  ...common,
  plugins: [workerUrl],
  build: {
    outDir,
    emptyOutDir: false,
    target: 'es2022',
    minify,
    // library mode: no preload helper or polyfill of Vite's own in the output (a consumer's bundler adds its own)
    lib: { entry: { index: 'src/browser/index.ts', worker: 'src/browser/worker.ts' }, formats: ['es'], fileName: (_, name) => `${name}.js` },
    rollupOptions: { output: { chunkFileNames: 'chunks/[name]-[hash].js' } },
  },
});
await build({
  ...common,
  build: {
    ssr: true,
    outDir: path.join(outDir, 'node'),
    emptyOutDir: false,
    target: 'node20',
    minify,
    rollupOptions: {
      input: { index: 'src/node/index.ts', cli: 'src/node/bin.ts' },
      external: [/^node:/, 'webgpu', ...Object.keys(pkg.dependencies)],
      output: {
        format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js',
        banner: (chunk) => (chunk.name === 'cli' ? '#!/usr/bin/env node' : ''),
      },
    },
  },
});
if (!minify) declarations();
console.error(`built ${path.relative(root, outDir)}/: index.js, worker.js, node/index.js, node/cli.js${minify ? ' (minified)' : ', types/'}`);

/** tsc writes declarations for the whole program; only those the entries reach are kept. */
function declarations() {
  const tmp = path.join(root, '.cache', 'types');
  rmSync(tmp, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', tmp], { cwd: root, stdio: 'inherit' });
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(path.join(tmp, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
      visit(path.join(path.dirname(file), m[1].replace(/\.js$/, '')) + '.d.ts');
    }
  };
  ['browser/index.d.ts', 'node/index.d.ts'].forEach(visit);
  for (const file of seen) {
    mkdirSync(path.join(outDir, 'types', path.dirname(file)), { recursive: true });
    cpSync(path.join(tmp, file), path.join(outDir, 'types', file));
  }
}
