/**
 * Proto-JSON field rules of the Vertex emulator: a field may be spelt camelCase or snake_case,
 * and a name the message type does not have is refused with Vertex's own wording
 * (`Invalid JSON payload received. Unknown name "x" at 'path': Cannot find field.`).
 * `Schema` (function parameters, responseSchema) is the OpenAPI 3.0 subset Vertex documents.
 */

export type Invalid = { ok: false; message: string };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The value of a field given by its camelCase name, whichever spelling the body used. */
export function fieldOf(record: Record<string, unknown>, camelName: string): unknown {
  return record[camelName] ?? record[snake(camelName)];
}

/** The refusal for the first key that is not one of `known` (camelCase names). */
export function unknownField(record: Record<string, unknown>, known: readonly string[], where: string): Invalid | undefined {
  for (const key of Object.keys(record)) {
    if (!known.includes(camel(key))) {
      const at = where === '' ? '' : ` at '${where}'`;
      return { ok: false, message: `Invalid JSON payload received. Unknown name "${key}"${at}: Cannot find field.` };
    }
  }
  return undefined;
}

/** An object with only `known` fields. */
export function checkSimpleObject(value: unknown, known: readonly string[], where: string): Invalid | undefined {
  if (!isRecord(value)) return { ok: false, message: `Invalid value at '${where}': expected an object.` };
  return unknownField(value, known, where);
}

const SCHEMA_FIELDS = [
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
];
const TYPES = ['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL', 'TYPE_UNSPECIFIED'];

/**
 * Vertex's Schema: no `additionalProperties`, `$schema`, `$ref`…, and `type` is one enum value
 * (a JSON-Schema type list like ["string","null"] is refused). Walks nested schemas.
 */
export function checkSchema(schema: unknown, where: string): Invalid | undefined {
  if (!isRecord(schema)) return { ok: false, message: `Invalid value at '${where}': expected a Schema object.` };
  const unknown = unknownField(schema, SCHEMA_FIELDS, where);
  if (unknown) return unknown;
  const type = schema.type;
  if (type !== undefined && (typeof type !== 'string' || !TYPES.includes(type.toUpperCase()))) {
    return { ok: false, message: `Invalid value at '${where}.type' (type.googleapis.com/google.cloud.aiplatform.v1.Type), ${JSON.stringify(type)}` };
  }
  const properties = schema.properties;
  if (properties !== undefined) {
    if (!isRecord(properties)) return { ok: false, message: `Invalid value at '${where}.properties': expected a map.` };
    for (const [name, child] of Object.entries(properties)) {
      const problem = checkSchema(child, `${where}.properties[${JSON.stringify(name)}]`);
      if (problem) return problem;
    }
  }
  if (schema.items !== undefined) {
    const problem = checkSchema(schema.items, `${where}.items`);
    if (problem) return problem;
  }
  const anyOf = fieldOf(schema, 'anyOf');
  if (Array.isArray(anyOf)) {
    for (const [index, child] of anyOf.entries()) {
      const problem = checkSchema(child, `${where}.any_of[${index}]`);
      if (problem) return problem;
    }
  }
  return undefined;
}
