// Each component's `configuration` namespace, as the nucleus's config store holds it: JSON objects are
// interior nodes, everything else (arrays included) is a leaf value. Keys are case-insensitive, as in
// the nucleus's Topics (children keyed by CaseInsensitiveString): a lookup finds a node whatever the
// case, and a node keeps the spelling it was created with, which is what GetConfiguration returns.

import { configKey, type JsonObject, type JsonValue } from '../contracts';

export type KeyPath = readonly string[];

/** What a key path points at. A leaf is reported with its key, as GetConfiguration wraps it as `{key: value}`. */
export type ConfigNode =
  | { kind: 'missing' }
  | { kind: 'interior'; value: JsonObject; path: string[] }
  | { kind: 'leaf'; key: string; value: JsonValue; path: string[] };

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepCopy<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

function sameValue(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, JsonValue>;
  const rb = b as Record<string, JsonValue>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && sameValue(ra[k]!, rb[k]!));
}

/**
 * The nodes that differ between two configurations, one key path per node the nucleus would report:
 * a changed leaf; each leaf of an added subtree (an added empty object is itself the node); a removed
 * node (once, not per leaf below it); a node whose kind changed between leaf and object.
 */
export function changedKeyPaths(before: JsonValue | undefined, after: JsonValue | undefined, path: string[] = []): string[][] {
  if (isJsonObject(before) && isJsonObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((k) => changedKeyPaths(before[k], after[k], [...path, k]));
  }
  if (before === undefined && isJsonObject(after)) {
    const keys = Object.keys(after);
    if (keys.length === 0) return [path];
    return keys.flatMap((k) => changedKeyPaths(undefined, after[k], [...path, k]));
  }
  if (before === undefined && after === undefined) return [];
  if (before !== undefined && after !== undefined && sameValue(before, after)) return [];
  return [path];
}

/** True if `prefix` is `path` or an ancestor of it. */
export function isPrefixOf(prefix: KeyPath, path: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => path[i] === k);
}

export class ConfigurationStore {
  private readonly byComponent = new Map<string, JsonObject>();

  has(component: string): boolean {
    return this.byComponent.has(component);
  }

  /** A deep copy, or undefined for a component the store does not know. */
  get(component: string): JsonObject | undefined {
    const config = this.byComponent.get(component);
    return config === undefined ? undefined : deepCopy(config);
  }

  /**
   * Stores a copy and returns the key paths that changed (every leaf, for a component new to the store).
   * Keys that name an existing node in another case keep the node's spelling (Topics.updateFromMap
   * updates the node it finds); two keys of one object that differ only in case are one node.
   */
  set(component: string, configuration: JsonObject): string[][] {
    const before = this.byComponent.get(component);
    const after = respell(configuration, before) as JsonObject;
    this.byComponent.set(component, after);
    return changedKeyPaths(before ?? {}, after);
  }

  delete(component: string): void {
    this.byComponent.delete(component);
  }

  /** Topics.findNode, case-insensitively; `path` and a leaf's `key` are spelled as stored. */
  find(component: string, keyPath: KeyPath): ConfigNode {
    let node: JsonValue | undefined = this.byComponent.get(component);
    if (node === undefined) return { kind: 'missing' };
    const path: string[] = [];
    for (const key of keyPath) {
      const stored: string | undefined = isJsonObject(node) ? configKey(node, key) : undefined;
      if (stored === undefined) return { kind: 'missing' };
      path.push(stored);
      node = (node as JsonObject)[stored];
    }
    if (isJsonObject(node)) return { kind: 'interior', value: deepCopy(node), path };
    return { kind: 'leaf', key: path[path.length - 1]!, value: deepCopy(node!), path };
  }
}

/** A copy of `next` whose keys take the spelling of the node they name in `current`, or of their first spelling. */
function respell(next: JsonValue, current: JsonValue | undefined): JsonValue {
  if (!isJsonObject(next)) return deepCopy(next);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(next)) {
    const existing = isJsonObject(current) ? configKey(current, key) : undefined;
    const spelled = existing ?? configKey(out, key) ?? key;
    // Defined, not assigned: to the nucleus `__proto__` is a key like any other, and it must reach
    // the component as written (an assignment would set the copy's prototype and lose the key).
    Object.defineProperty(out, spelled, {
      value: respell(value, isJsonObject(current) && existing !== undefined ? current[existing] : undefined),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}
