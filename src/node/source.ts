import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFormatError } from '../contract/errors';
import { missingFile, type ModelSource } from '../model/source';

/** A model folder on the local disk (Node only). Binary files stream in 1 MiB chunks. */
export function directorySource(dir: string): ModelSource {
  const root = resolve(dir);
  /** The file's path and size; anything but a regular file (a named pipe, a device) is refused, as a read could block forever. */
  const regularFile = async (name: string) => {
    const path = join(root, name);
    const info = await stat(path).catch(() => {
      throw missingFile(source, name);
    });
    if (!info.isFile()) throw new ModelFormatError(`${name} in ${root} is not a regular file`, { file: name });
    return { path, size: info.size };
  };
  const source: ModelSource = {
    describe: root,
    exists: async (name) => stat(join(root, name)).then((s) => s.isFile(), () => false),
    async text(name) {
      const { path } = await regularFile(name);
      return readFile(path, 'utf8').catch(() => {
        throw missingFile(source, name);
      });
    },
    async binary(name) {
      const { path, size } = await regularFile(name);
      return { size, stream: () => createReadStream(path, { highWaterMark: 1 << 20 }) };
    },
  };
  return source;
}
