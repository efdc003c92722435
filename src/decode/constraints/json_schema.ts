/**
 * The JSON Schema subset of OpenAI's structured outputs, compiled to the grammar's nodes. A keyword outside it is
 * refused with an InvalidRequestError that names it: a constraint is never silently looser than asked.
 */
import { InvalidRequestError } from '../../contract/errors';
import { JSON_LIMITS, type JsonNode } from './json_grammar';

/** Keywords that describe without constraining. */
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', 'examples', 'default', '$comment', 'strict']);
const KEYWORDS: Record<string, Set<string>> = {
  object: new Set(['type', 'properties', 'required', 'additionalProperties']),
  array: new Set(['type', 'items', 'minItems', 'maxItems']),
  string: new Set(['type', 'enum', 'const', 'minLength', 'maxLength']),
  number: new Set(['type', 'enum', 'const']),
  integer: new Set(['type', 'enum', 'const']),
  boolean: new Set(['type', 'enum', 'const']),
  null: new Set(['type', 'enum', 'const']),
  none: new Set(['enum', 'const', 'anyOf']),
};

type Schema = Record<string, unknown>;

/** Any object: json_object mode, or a schema that only says type object. */
export const FREE_OBJECT: JsonNode = { kind: 'freeObject', depth: 0 };

function refuse(path: string, message: string): never {
  throw new InvalidRequestError(`response_format.json_schema.schema${path}: ${message}`, { field: `response_format.json_schema.schema${path}` });
}

function bound(path: string, schema: Schema, key: string, fallback: number): number {
  const v = schema[key];
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || (v as number) < 0) refuse(`${path}.${key}`, 'must be a non-negative integer');
  return v as number;
}

/** The node of `schema` at `path` (a JSON-pointer-like path for error messages). */
export function compileSchema(schema: unknown, path = ''): JsonNode {
  if (schema === true || (typeof schema === 'object' && schema !== null && Object.keys(schema).length === 0)) return { kind: 'any', depth: 0 };
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) refuse(path, 'must be a schema object');
  const s = schema as Schema;
  if (Array.isArray(s.anyOf)) {
    checkKeywords(path, s, KEYWORDS.none);
    if (s.anyOf.length === 0) refuse(`${path}.anyOf`, 'must list at least one schema');
    return { kind: 'union', options: s.anyOf.map((o, i) => compileSchema(o, `${path}.anyOf[${i}]`)) };
  }
  if (s.const !== undefined || s.enum !== undefined) return literal(path, s);
  if (Array.isArray(s.type)) {
    // each type takes the keywords that apply to it; a keyword that applies to none is refused
    const types = s.type.map(String);
    checkKeywords(path, s, new Set(types.flatMap((t) => [...(KEYWORDS[t] ?? [])])));
    const own = (t: string) => Object.fromEntries(Object.entries(s).filter(([k]) => KEYWORDS[t]?.has(k) || ANNOTATIONS.has(k)));
    return { kind: 'union', options: types.map((t) => compileSchema({ ...own(t), type: t }, path)) };
  }
  const type = s.type;
  if (typeof type !== 'string' || !(type in KEYWORDS) || type === 'none') refuse(`${path}.type`, `${JSON.stringify(type)} is not supported (object, array, string, number, integer, boolean, null)`);
  checkKeywords(path, s, KEYWORDS[type]);
  switch (type) {
    case 'object': return object(path, s);
    case 'array': {
      const min = bound(path, s, 'minItems', 0);
      const max = bound(path, s, 'maxItems', Math.max(min, JSON_LIMITS.arrayItems));
      if (max < min) refuse(`${path}.maxItems`, 'is below minItems');
      return { kind: 'array', items: compileSchema(s.items ?? {}, `${path}.items`), min, max };
    }
    case 'string': {
      const min = bound(path, s, 'minLength', 0);
      const max = bound(path, s, 'maxLength', Math.max(min, JSON_LIMITS.stringChars));
      if (max < min) refuse(`${path}.maxLength`, 'is below minLength');
      return { kind: 'string', min, max };
    }
    case 'number':
    case 'integer': return { kind: 'number', integer: type === 'integer' };
    case 'boolean': return { kind: 'literal', texts: ['true', 'false'] };
    default: return { kind: 'literal', texts: ['null'] };
  }
}

function checkKeywords(path: string, s: Schema, allowed: Set<string>): void {
  for (const key of Object.keys(s)) {
    if (!allowed.has(key) && !ANNOTATIONS.has(key)) refuse(`${path}.${key}`, 'is not supported in constrained output (see ResponseFormat)');
  }
}

function literal(path: string, s: Schema): JsonNode {
  const values = s.const !== undefined ? [s.const] : s.enum;
  if (!Array.isArray(values) || values.length === 0) refuse(`${path}.enum`, 'must be a non-empty array');
  return { kind: 'literal', texts: [...new Set(values.map((v) => JSON.stringify(v)))] };
}

function object(path: string, s: Schema): JsonNode {
  const properties = (s.properties ?? {}) as Record<string, unknown>;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) refuse(`${path}.properties`, 'must be an object');
  const required = s.required ?? [];
  if (!Array.isArray(required) || required.some((r) => typeof r !== 'string' || !(r in properties))) refuse(`${path}.required`, 'must list property names');
  const keys = Object.keys(properties);
  // an object that names no properties and does not forbid others: any object
  if (keys.length === 0 && s.additionalProperties !== false) return FREE_OBJECT;
  return {
    kind: 'object',
    props: keys.map((key) => ({ literal: JSON.stringify(key), node: compileSchema(properties[key], `${path}.properties.${key}`), required: required.includes(key) })),
  };
}
