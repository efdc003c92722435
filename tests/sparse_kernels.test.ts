import { describe, expect, it } from 'vitest';
import { sparseCases } from './cases/sparse';
import { testGpu } from './helpers/gpu';
import { relativeError } from './helpers/reference';

describe('sparse kernels', () => {
  for (const c of sparseCases) {
    it(c.name, async () => {
      const { actual, expected, tolerance } = await c.run(await testGpu());
      if (tolerance === 0) expect(Array.from(actual)).toEqual(Array.from(expected));
      else expect(relativeError(actual, expected)).toBeLessThanOrEqual(tolerance);
    });
  }
});
