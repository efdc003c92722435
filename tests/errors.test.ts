/**
 * Typed errors keep their class and name across the worker boundary, also when the bundle is minified
 * (class names mangled): each class has a stable name and code, and the wire carries the code.
 */
import { describe, expect, it } from 'vitest';
import { build } from 'vite';
import path from 'node:path';
import * as errors from '../src/contract/errors';
import { fromWireError, toWireError } from '../src/contract/wire';

type ErrorClass = typeof errors.InferError;
const classes = Object.entries(errors).filter((e): e is [string, ErrorClass] =>
  typeof e[1] === 'function' && (e[1] === errors.InferError || e[1].prototype instanceof errors.InferError));

describe('error identities', () => {
  it('every exported class has its own name (its export name) and code', () => {
    expect(classes.length).toBeGreaterThanOrEqual(9);
    const made = classes.map(([exported, C]) => ({ exported, error: new C('m', { file: 'x' }) }));
    for (const { exported, error } of made) expect(error.name).toBe(exported);
    expect(new Set(made.map(({ error }) => error.code)).size).toBe(classes.length);
  });

  it('the wire rebuilds each class from its code, whatever the name says', () => {
    for (const [, C] of classes) {
      const wire = toWireError(new C('m', { tensor: 't' }));
      const back = fromWireError({ ...wire, name: 'r' }); // a minified sender's name would not matter
      expect(back).toBeInstanceOf(C);
      expect(back.constructor).toBe(C);
      expect(back).toMatchObject({ name: wire.name, code: wire.code, message: 'm', details: { tensor: 't' } });
    }
    const plain = fromWireError(toWireError(new TypeError('t')));
    expect(plain).not.toBeInstanceOf(errors.InferError);
    expect(plain.name).toBe('TypeError');
  });

  it('a subclass made outside the library takes its parent\'s identity', () => {
    class MyModelError extends errors.ModelFormatError {}
    expect(new MyModelError('m')).toMatchObject({ name: 'ModelFormatError', code: 'MODEL_FORMAT' });
  });
});

describe('through a minified build', () => {
  it('errors thrown in the host arrive as the same class over a Comlink channel', async () => {
    const outDir = path.resolve(__dirname, '../.cache/minified-wire');
    await build({
      configFile: false, logLevel: 'error', publicDir: false,
      build: { outDir, emptyOutDir: true, minify: true, lib: { entry: path.resolve(__dirname, 'fixtures/minified/wire_entry.ts'), formats: ['es'], fileName: 'wire' } },
    });
    const m = await import(/* @vite-ignore */ path.join(outDir, 'wire.js'));
    expect(m.ModelFormatError.name).not.toBe('ModelFormatError'); // the minifier did rename the classes

    const failing = {
      gpu: async () => { throw new m.WebGPUUnavailableError('no adapter', { why: 'test' }); },
      load: async () => { throw new m.ModelFormatError('config.json: not JSON', { file: 'config.json' }); },
    };
    const { port1, port2 } = new MessageChannel();
    m.exposeHost(new m.RuntimeHost(failing), port1);
    const error = await m.ClientEngine.open(m.comlinkTransport(port2, () => port1.close()), { model: 'x/' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(m.InferError);
    expect(error).toBeInstanceOf(m.WebGPUUnavailableError);
    expect(error).toMatchObject({ name: 'WebGPUUnavailableError', code: 'WEBGPU_UNAVAILABLE', details: { why: 'test' } });
  }, 60_000);
});
