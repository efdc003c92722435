import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { expect, it } from 'vitest';

/** The repository ships its models, ONNX exports and fixtures: all tracked files together stay under 56 MiB. */
it('keeps the tracked files under 56 MiB', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  console.log(`tracked: ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  expect(bytes).toBeLessThan(56 * 2 ** 20);
});
