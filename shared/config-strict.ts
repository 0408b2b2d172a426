// The first step of every component's config parser: a plain copy of the raw Greengrass
// configuration that a JSON Schema validator can then check without coercion, and the problems no
// schema can express. A configuration is a security artifact (one fleet deployment reaches every
// gateway of a plant), so nothing in it is taken other than literally:
// - keys are own properties only: `__proto__`, `constructor` and `prototype` are refused at any
//   depth, and the copy never assigns them (an own `__proto__` key, which JSON.parse creates, would
//   otherwise become the copy's prototype and smuggle in values the deployment never names);
// - numbers are finite (JSON's 1e999 parses to Infinity, and a JavaScript caller can pass NaN);
// - strings are well-formed UTF-16 (a lone surrogate cannot be encoded as UTF-8, so an IoT Core
//   topic or a log line holding it is garbled) and at most MAX_STRING_CHARS long before any schema
//   regex runs on them;
// - nesting is bounded, so a pathological document costs a bounded walk;
// - null counts as absent (a Greengrass MERGE writes null to mean "no value"): the key's default applies.
// Pure: no I/O, no clock.
import type { ConfigIssue } from './config-error';
import { pointer } from './config-issues';

/** Keys that name or reach an object's prototype in JavaScript; never configuration. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Longest string anywhere in a configuration, characters; each key's own bound is in its schema. */
export const MAX_STRING_CHARS = 65_536;
/** Deepest nesting of objects and lists; conduit's deepest key (tags[].deadband.percent) is at 4. */
export const MAX_DEPTH = 16;

export type PlainValue = string | number | boolean | PlainValue[] | { [key: string]: PlainValue };
export type PlainObject = { [key: string]: PlainValue };

export interface StrictCopy {
  /** The copy, without nulls and without anything listed in `issues`. */
  doc: PlainObject;
  issues: ConfigIssue[];
}

/**
 * Copies `raw` (an object) into plain JSON values, leaving out and reporting what a configuration
 * may not hold. The caller validates `doc` against its schema with type coercion off.
 */
export function strictCopy(raw: Record<string, unknown>, docs: string): StrictCopy {
  const issues: ConfigIssue[] = [];
  const doc = copyObject(raw, '', 0, issues, docs);
  return { doc, issues };
}

function copyObject(o: Record<string, unknown>, path: string, depth: number, issues: ConfigIssue[], docs: string): PlainObject {
  const out: PlainObject = {};
  // Object.keys: own enumerable string keys only; an inherited property is never configuration.
  for (const key of Object.keys(o)) {
    const p = pointer(path, key);
    if (PROTOTYPE_KEYS.has(key)) {
      issues.push({ path: p, message: 'is not a known key (a JavaScript prototype key, never accepted)', fix: 'remove it' });
      continue;
    }
    const v = copyValue(o[key], p, depth + 1, issues, docs);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function copyValue(v: unknown, path: string, depth: number, issues: ConfigIssue[], docs: string): PlainValue | undefined {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      if (Number.isFinite(v)) return v;
      issues.push({ path, message: `must be a finite number (got ${String(v)})`, fix: `write a number in the range ${docs} gives` });
      return undefined;
    case 'string':
      if (v.length > MAX_STRING_CHARS) {
        issues.push({ path, message: `is ${v.length} characters long, more than any value may be (${MAX_STRING_CHARS})`, fix: `shorten it; see ${docs} for its limit` });
        return undefined;
      }
      if (!isWellFormed(v)) {
        issues.push({ path, message: 'holds a lone UTF-16 surrogate (text that cannot be written as UTF-8)', fix: 'retype the value; it was likely cut in the middle of a character' });
        return undefined;
      }
      return v;
    case 'object': {
      if (depth > MAX_DEPTH) {
        issues.push({ path, message: `is nested more than ${MAX_DEPTH} levels deep`, fix: `flatten it; see ${docs} for the configuration's shape` });
        return undefined;
      }
      if (Array.isArray(v)) {
        const list: PlainValue[] = [];
        v.forEach((x, i) => {
          const c = copyValue(x, pointer(path, i), depth + 1, issues, docs);
          // A list keeps its positions: a null entry is reported by the schema as a missing value.
          list.push(c === undefined ? (null as unknown as PlainValue) : c);
        });
        return list;
      }
      return copyObject(v as Record<string, unknown>, path, depth, issues, docs);
    }
    default:
      issues.push({ path, message: `must be a JSON value (got ${typeof v})`, fix: `see ${docs}` });
      return undefined;
  }
}

/** String.prototype.isWellFormed, which Node 20 has; written out so the rule is visible. */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return false;
  }
  return true;
}
