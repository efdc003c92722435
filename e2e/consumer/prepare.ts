/**
 * Global setup of the consumer tests: packs this project (prepack builds it), then makes a fresh app in a temp
 * folder from app/ and the README's Install blocks, and installs the tarball into it the way a user would,
 * offline: the runtime dependencies are packed from this project's node_modules. Dev tools the app would install
 * itself (vite, typescript) and the optional peer `webgpu` (a native build) are linked from there too.
 * The app is then built for production (minified). Paths go to the tests in CONSUMER_STATE (a JSON file).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ConsumerState {
  root: string;
  app: string;
  site: string;
  tarball: string;
  packedFiles: string[];
  packedBytes: number;
  setupMs: number;
}

const repo = path.resolve(import.meta.dirname, '../..');
const modules = path.join(repo, 'node_modules');
const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** README code blocks of the Install section whose first line names a file: `// src/main.ts`, `<!-- index.html -->`. */
export function installBlocks(readme: string): Map<string, string> {
  const section = readme.slice(readme.indexOf('## Install'), readme.indexOf('\n## ', readme.indexOf('## Install') + 1));
  const blocks = new Map<string, string>();
  for (const m of section.matchAll(/```\w+\n(?:\/\/ |<!-- )([\w./-]+)(?: -->)?\n([\s\S]*?)```/g)) blocks.set(m[1], m[2]);
  return blocks;
}

/** Returns the teardown: the temp folder goes. */
export default async function prepare(): Promise<() => void> {
  const started = Date.now();
  const root = mkdtempSync(path.join(tmpdir(), 'webgpu-infer-consumer-'));
  const [pack] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', root], repo)) as { filename: string; size: number; files: { path: string }[] }[];
  const dependencies = Object.keys(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).dependencies);
  const deps = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root, ...dependencies.map((d) => path.join(modules, d))], repo)) as { filename: string }[];

  const app = path.join(root, 'app');
  cpSync(path.join(import.meta.dirname, 'app'), app, { recursive: true });
  for (const [file, text] of installBlocks(readFileSync(path.join(repo, 'README.md'), 'utf8'))) {
    mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    writeFileSync(path.join(app, file), text);
  }
  // the test's own probe rides along on the README's page
  const index = path.join(app, 'index.html');
  writeFileSync(index, readFileSync(index, 'utf8').replace('</body>', '  <script type="module" src="/src/probe.ts"></script>\n  </body>'));
  const tiny = path.join(repo, 'public/models/tiny-dense');
  cpSync(tiny, path.join(app, 'public/models/tiny-dense'), { recursive: true, filter: (f) => !f.includes(`${path.sep}onnx`) });

  run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', ...[pack, ...deps].map((p) => path.join(root, p.filename))], app);
  // linked after the install: npm would remove links it did not make
  for (const tool of ['vite', 'typescript', 'webgpu']) symlinkSync(path.join(modules, tool), path.join(app, 'node_modules', tool));
  run(process.execPath, [path.join(modules, 'vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);

  const site = path.join(app, 'site');
  cpSync(path.join(app, 'node_modules/webgpu-infer/dist'), path.join(site, 'webgpu-infer'), { recursive: true });
  cpSync(path.join(app, 'public/models'), path.join(site, 'models'), { recursive: true });

  const state: ConsumerState = {
    root, app, site, tarball: path.join(root, pack.filename), packedFiles: pack.files.map((f) => f.path), packedBytes: pack.size, setupMs: Date.now() - started,
  };
  const file = path.join(root, 'state.json');
  writeFileSync(file, JSON.stringify(state, null, 2));
  process.env.CONSUMER_STATE = file;
  return () => rmSync(root, { recursive: true, force: true });
}
