// A deployment's configurationUpdate, applied as the nucleus applies it: RESET paths first (back to
// the recipe's default, or removed where the default has none), then MERGE (objects merge key by
// key; arrays and values replace). Recipe variables are interpolated as in lifecycle scripts.
// The nucleus computes the new configuration in its config store (KernelConfigResolver
// .resolveConfigurationToApply), whose keys are case-insensitive: `{"Greeting": "x"}` merges into
// `greeting`, and a RESET path finds its node whatever the case.
import { configKey, type JsonObject, type JsonValue } from '../contracts';

export interface ConfigurationUpdate {
  /** An object, or the JSON string the deployment API carries. */
  merge?: JsonObject | string;
  /** JSON pointers; "" resets the whole configuration. */
  reset?: string[];
}

const clone = <T extends JsonValue>(v: T): T => structuredClone(v);

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 6901 pointer to key path; `~1` is `/` and `~0` is `~`. */
export function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`configuration: "${pointer}" is not a JSON pointer (it must start with /)`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function getPath(root: JsonValue, path: string[]): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/**
 * The nucleus (Java, Jackson) treats every key as text: `__proto__` is a key like any other. So
 * does this merge: it reads own properties only and defines keys instead of assigning them, so a
 * deployment's `__proto__` key reaches the component as written (and never pollutes a prototype here).
 */
function deepMerge(target: JsonObject, update: JsonObject): void {
  for (const [key, v] of Object.entries(update)) {
    const k = configKey(target, key) ?? key;
    const cur = Object.hasOwn(target, k) ? target[k] : undefined;
    if (isObject(v) && isObject(cur)) deepMerge(cur, v);
    else setOwn(target, k, clone(v));
  }
}

function setOwn(o: JsonObject, k: string, v: JsonValue): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/** getPath with the config store's case-insensitive keys. */
function findPath(root: JsonValue, path: string[]): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) {
      const k = configKey(node, key);
      node = k === undefined ? undefined : node[k];
    } else return undefined;
  }
  return node;
}

export function applyConfigurationUpdate(
  current: JsonObject,
  defaults: JsonObject,
  update: ConfigurationUpdate,
): JsonObject {
  let next = clone(current);
  for (const pointer of update.reset ?? []) {
    const path = pointerToPath(pointer);
    if (path.length === 0) {
      next = clone(defaults);
      continue;
    }
    const parent = findPath(next, path.slice(0, -1));
    const dflt = findPath(defaults, path);
    if (!isObject(parent)) continue;
    const key = configKey(parent, path[path.length - 1]!) ?? path[path.length - 1]!;
    if (dflt === undefined) delete parent[key];
    else setOwn(parent, key, clone(dflt));
  }
  if (update.merge !== undefined) {
    const m = typeof update.merge === 'string' ? (JSON.parse(update.merge) as JsonValue) : update.merge;
    if (!isObject(m)) throw new Error('configuration: merge must be a JSON object');
    deepMerge(next, m);
  }
  return next;
}

export interface InterpolationContext {
  componentName: string;
  artifactsPath: string;
  decompressedPath: string;
  workPath: string;
  kernelRootPath: string;
  thingName: string;
  configuration: JsonObject;
  /** Direct dependencies, for `{<dep>:configuration:/x}` and `{<dep>:artifacts:path}`. */
  dependencies?: Record<string, Omit<InterpolationContext, 'dependencies' | 'thingName' | 'kernelRootPath'>>;
}

function lookup(ns: string, key: string, ctx: Omit<InterpolationContext, 'dependencies'>): string | undefined {
  switch (ns) {
    case 'artifacts':
      return key === 'path' ? ctx.artifactsPath : key === 'decompressedPath' ? ctx.decompressedPath : undefined;
    case 'work':
      return key === 'path' ? ctx.workPath : undefined;
    case 'kernel':
      return key === 'rootPath' ? ctx.kernelRootPath : undefined;
    case 'iot':
      return key === 'thingName' ? ctx.thingName : undefined;
    case 'configuration': {
      // A value node gives its text; an object or array gives compact JSON; a missing node stays as written.
      const v = getPath(ctx.configuration, pointerToPath(key));
      if (v === undefined) return undefined;
      return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    }
    default:
      return undefined;
  }
}

/** The nucleus's forms `{ns:key}` and `{component:ns:key}`; a JSON pointer may not hold `:` or `}`. */
export function interpolate(text: string, ctx: InterpolationContext): string {
  return text.replace(/\{([.\w-]+):([.\w-]+):([^:}]*)\}|\{([.\w-]+):([^:}]*)\}/g, (whole, dep, ns3, key3, ns2, key2) => {
    if (dep !== undefined) {
      const d = ctx.dependencies?.[dep];
      if (!d) return whole;
      return lookup(ns3, key3, { ...d, thingName: ctx.thingName, kernelRootPath: ctx.kernelRootPath }) ?? whole;
    }
    return lookup(ns2, key2, ctx) ?? whole;
  });
}

/**
 * The nucleus option `interpolateComponentConfiguration` (nucleus >= 2.6.0): recipe variables in the
 * string values of a component's configuration are replaced, which is what lets an accessControl
 * resource name `{iot:thingName}` instead of a wildcard. `{configuration:...}` is not replaced there.
 */
export function interpolateConfiguration(config: JsonObject, ctx: InterpolationContext): JsonObject {
  const walk = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') return interpolate(v, { ...ctx, configuration: {} });
    if (Array.isArray(v)) return v.map(walk);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(config) as JsonObject;
}
