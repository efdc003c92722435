import { describe, expect, it } from 'vitest';
import { verifyCases } from './cases/verify';
import { superposeCases } from './cases/superpose';
import { testGpu } from './helpers/gpu';
import { relativeError } from './helpers/reference';

// The decoding kernels' cases on their own (they also run in tests/kernels.test.ts and the browser harness).
for (const [suite, cases] of Object.entries({ verify: verifyCases, superpose: superposeCases })) {
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
