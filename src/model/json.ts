import { ModelFormatError } from '../contract/errors';

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON text of a model file -> value; a syntax error is a ModelFormatError naming the file. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${file}: not valid JSON (${(e as Error).message})`, { file });
  }
}

/** As parseJson, and the value must be an object. */
export function parseJsonObject(text: string, file: string): Record<string, unknown> {
  const json = parseJson(text, file);
  if (!isObject(json)) throw new ModelFormatError(`${file}: not a JSON object`, { file });
  return json;
}
