import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

/**
 * The GPU proof kit's cheap half (the whole kit runs in `npm run device:dry-run`): its scripts parse, and the run
 * bundles into one file whose only imports are Node's and `webgpu`, the two things the bare GPU machine gets.
 */
it('bundles the device run into one file that imports only node: modules and webgpu', () => {
  for (const script of ['fetch.sh', 'pack.sh', 'run.sh', 'dry-run.sh']) execFileSync('bash', ['-n', `scripts/device/${script}`]);
  const out = mkdtempSync(join(tmpdir(), 'device-kit-'));
  try {
    execFileSync(process.execPath, ['scripts/device/bundle.mjs', out], { stdio: 'pipe' });
    const code = readFileSync(join(out, 'device.js'), 'utf8');
    const imports = [...code.matchAll(/(?:from\s*|import\s*\(\s*)["'`]([^"'`]+)["'`]/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !i.startsWith('node:') && i !== 'webgpu')).toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
