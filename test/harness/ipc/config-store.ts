// Each component's `configuration` namespace, as the nucleus's config store holds it: JSON objects are
// interior nodes, everything else (arrays included) is a leaf value.

import type { JsonObject, JsonValue } from '../contracts';

export type KeyPath = readonly string[];

/** What a key path points at. A leaf is reported with its key, as GetConfiguration wraps it as `{key: value}`. */
export type ConfigNode =
  | { kind: 'missing' }
  | { kind: 'interior'; value: JsonObject }
  | { kind: 'leaf'; key: string; value: JsonValue };

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

  /** Stores a copy and returns the key paths that changed (every leaf, for a component new to the store). */
  set(component: string, configuration: JsonObject): string[][] {
    const before = this.byComponent.get(component);
    const after = deepCopy(configuration);
    this.byComponent.set(component, after);
    return changedKeyPaths(before ?? {}, after);
  }

  delete(component: string): void {
    this.byComponent.delete(component);
  }

  find(component: string, keyPath: KeyPath): ConfigNode {
    let node: JsonValue | undefined = this.byComponent.get(component);
    if (node === undefined) return { kind: 'missing' };
    for (const key of keyPath) {
      if (!isJsonObject(node) || !Object.prototype.hasOwnProperty.call(node, key)) return { kind: 'missing' };
      node = node[key];
    }
    if (isJsonObject(node)) return { kind: 'interior', value: deepCopy(node) };
    return { kind: 'leaf', key: keyPath[keyPath.length - 1]!, value: deepCopy(node!) };
  }
}
