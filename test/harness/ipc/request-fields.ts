// Reading fields of a request as the nucleus's Gson model classes see them: an absent or null field is
// "not set"; a field of the wrong JSON type cannot be deserialized, which the Java server reports as an
// unmodeled InternalServerError.

import type { JsonObject, JsonValue } from '../contracts';
import { isJsonObject } from './config-store';
import { UnmodeledIpcError } from './errors';

function field(request: JsonObject, key: string): JsonValue | undefined {
  const value = request[key];
  return value === null ? undefined : value;
}

function wrongType(key: string, expected: string): UnmodeledIpcError {
  return new UnmodeledIpcError(`field ${key} is not ${expected}`);
}

export function optionalString(request: JsonObject, key: string): string | undefined {
  const value = field(request, key);
  if (value === undefined || typeof value === 'string') return value;
  throw wrongType(key, 'a string');
}

export function optionalBoolean(request: JsonObject, key: string): boolean | undefined {
  const value = field(request, key);
  if (value === undefined || typeof value === 'boolean') return value;
  throw wrongType(key, 'a boolean');
}

export function optionalObject(request: JsonObject, key: string): JsonObject | undefined {
  const value = field(request, key);
  if (value === undefined || isJsonObject(value)) return value;
  throw wrongType(key, 'an object');
}

export function optionalStringList(request: JsonObject, key: string): string[] | undefined {
  const value = field(request, key);
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw wrongType(key, 'a list of strings');
}

/** A blob field: base64 text on the wire (Base64BlobSerializerDeserializer). */
export function optionalBlob(request: JsonObject, key: string): Buffer | undefined {
  const value = optionalString(request, key);
  return value === undefined ? undefined : Buffer.from(value, 'base64');
}
