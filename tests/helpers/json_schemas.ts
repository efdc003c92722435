/** JSON schemas of the structured-outputs subset, and a small validator for exactly that subset (test oracle). */
type Schema = Record<string, unknown>;

export const SCHEMAS: Record<string, Schema> = {
  person: { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false },
  flags: { type: 'object', properties: { ok: { type: 'boolean' }, none: { type: 'null' }, ratio: { type: 'number' } }, required: ['ok', 'none', 'ratio'], additionalProperties: false },
  color: { type: 'object', properties: { color: { type: 'string', enum: ['red', 'green', 'blue'] } }, required: ['color'], additionalProperties: false },
  tags: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string', maxLength: 6 }, minItems: 1, maxItems: 3 } }, required: ['tags'], additionalProperties: false },
  nested: {
    type: 'object',
    properties: { user: { type: 'object', properties: { id: { type: 'integer' }, admin: { type: 'boolean' } }, required: ['id', 'admin'], additionalProperties: false } },
    required: ['user'], additionalProperties: false,
  },
  union: { type: 'object', properties: { value: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 5 }, { type: 'null' }] } }, required: ['value'], additionalProperties: false },
  nullable: { type: 'object', properties: { note: { type: ['string', 'null'], maxLength: 8 } }, required: ['note'], additionalProperties: false },
  optional: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'boolean' }, c: { const: 'x' } }, required: ['c'], additionalProperties: false },
  matrix: { type: 'object', properties: { rows: { type: 'array', items: { type: 'array', items: { type: 'number' }, maxItems: 3 }, maxItems: 2 } }, required: ['rows'], additionalProperties: false },
  list: { type: 'array', items: { type: 'object', properties: { k: { type: 'string', enum: ['a', 'b'] }, v: { type: 'integer' } }, required: ['k', 'v'], additionalProperties: false }, minItems: 1, maxItems: 3 },
  keys: { type: 'object', properties: { 'a "quoted" key': { type: 'integer' }, ascii: { type: 'string', minLength: 2, maxLength: 4 } }, required: ['a "quoted" key', 'ascii'], additionalProperties: false },
};

/** Errors of `value` against `schema` (empty when valid), for the subset the engine supports. */
export function validate(schema: unknown, value: unknown, path = '$'): string[] {
  if (schema === true || (typeof schema === 'object' && schema !== null && Object.keys(schema).length === 0)) return [];
  const s = schema as Schema;
  if (Array.isArray(s.anyOf)) return s.anyOf.some((o) => validate(o, value, path).length === 0) ? [] : [`${path}: no anyOf alternative matches`];
  if (s.const !== undefined) return JSON.stringify(s.const) === JSON.stringify(value) ? [] : [`${path}: not the const`];
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) return [`${path}: not in enum`];
  if (s.type === undefined) return []; // enum alone
  if (Array.isArray(s.type)) return s.type.some((t) => validate({ ...s, type: t }, value, path).length === 0) ? [] : [`${path}: no type matches`];
  switch (s.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const errors = ((s.required ?? []) as string[]).filter((r) => !(r in value)).map((r) => `${path}: missing ${r}`);
      for (const [k, v] of Object.entries(value)) {
        if (k in props) errors.push(...validate(props[k], v, `${path}.${k}`));
        else if (s.additionalProperties === false) errors.push(`${path}: extra ${k}`);
      }
      return errors;
    }
    case 'array': {
      if (!Array.isArray(value)) return [`${path}: not an array`];
      const errors = value.flatMap((v, i) => validate(s.items ?? {}, v, `${path}[${i}]`));
      if (value.length < ((s.minItems as number) ?? 0) || value.length > ((s.maxItems as number) ?? Infinity)) errors.push(`${path}: item count`);
      return errors;
    }
    case 'string':
      if (typeof value !== 'string') return [`${path}: not a string`];
      return value.length < ((s.minLength as number) ?? 0) || value.length > ((s.maxLength as number) ?? Infinity) ? [`${path}: length`] : [];
    case 'integer': return Number.isInteger(value) ? [] : [`${path}: not an integer`];
    case 'number': return typeof value === 'number' ? [] : [`${path}: not a number`];
    case 'boolean': return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
    case 'null': return value === null ? [] : [`${path}: not null`];
    default: return [`${path}: unknown type`];
  }
}
