import { describe, expect, it } from 'vitest';
import { kernelSuites } from './cases';
import { testGpu } from './helpers/gpu';
import { relativeError } from './helpers/reference';

for (const [suite, cases] of Object.entries(kernelSuites)) {
  describe(suite, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const { actual, expected, tolerance } = await c.run(await testGpu());
        if (tolerance === 0) expect(Array.from(actual)).toEqual(Array.from(expected));
        else expect(relativeError(actual, expected)).toBeLessThanOrEqual(tolerance);
      });
    }
  });
}
