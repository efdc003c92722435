import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { missingFile, type ModelSource } from '../model/source';

/** A model folder on the local disk (Node only). Binary files stream in 1 MiB chunks. */
export function directorySource(dir: string): ModelSource {
  const root = resolve(dir);
  const source: ModelSource = {
    describe: root,
    exists: async (name) => stat(join(root, name)).then((s) => s.isFile(), () => false),
    async text(name) {
      return readFile(join(root, name), 'utf8').catch(() => {
        throw missingFile(source, name);
      });
    },
    async binary(name) {
      const path = join(root, name);
      const info = await stat(path).catch(() => {
        throw missingFile(source, name);
      });
      return { size: info.size, stream: () => createReadStream(path, { highWaterMark: 1 << 20 }) };
    },
  };
  return source;
}
