// IPC authorization as the nucleus decides it (AuthorizationHandler / AuthorizationModule / WildcardTrie):
// a component may call an operation on a resource of a service ("destination") only if one of the
// policies in its own `configuration.accessControl.<destination>` lists the operation (or `*`) and a
// resource pattern that matches.
//
// Resource patterns:
//  - `*` matches any run of characters, `/` included, in every destination.
//  - `${*}`, `${?}`, `${$}` stand for the literal character; any other `${…}` and a bare `?` make the
//    whole policy invalid (the nucleus rejects it when loading).
//  - Only where the caller asks for MQTT_STYLE (aws.greengrass.ipc.mqttproxy): `+` forming a whole
//    topic level matches one level, and `#` as the last level matches any number of levels, including
//    none (`a/#` matches `a`). Placed anywhere else they are ordinary characters.
// The requested resource is always matched as a plain string, so asking for the filter `a/#` is
// allowed by the pattern `a/#` and by `a/*`, but not by `a/b`.

import type { JsonObject, JsonValue } from '../contracts';

export type ResourceLookupPolicy = 'STANDARD' | 'MQTT_STYLE';

export const MQTT_PROXY_SERVICE = 'aws.greengrass.ipc.mqttproxy';
export const PUB_SUB_SERVICE = 'aws.greengrass.ipc.pubsub';
export const SECRET_MANAGER_SERVICE = 'aws.greengrass.SecretManager';
/** Allowed in `operations` (and as a resource pattern): anything. */
export const ANY = '*';

/** Only the MQTT proxy asks for MQTT-style matching; every other service matches STANDARD. */
export function lookupPolicyFor(destination: string): ResourceLookupPolicy {
  return destination === MQTT_PROXY_SERVICE ? 'MQTT_STYLE' : 'STANDARD';
}

/** The text the nucleus puts in its AuthorizationException (and pubsub/SecretManager pass on to the client). */
export function notAuthorizedText(principal: string, destination: string, operation: string, resource: string): string {
  return `Principal ${principal} is not authorized to perform ${destination}:${operation} on resource ${resource}`;
}

/** A resource pattern the nucleus would refuse to load. */
export class InvalidResourcePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResourcePatternError';
  }
}

type Token =
  | { kind: 'literal'; text: string }
  | { kind: 'glob' }
  /** MQTT `+`: one level, possibly empty, never containing `/`. */
  | { kind: 'level' }
  /** MQTT `/#` at the end: the end of the string, or `/` and anything after it. */
  | { kind: 'subtree' }
  /** A pattern that is exactly `#` (MQTT style): anything. */
  | { kind: 'all' };

const ESCAPABLE = new Set(['*', '?', '$']);

export class ResourcePattern {
  private constructor(
    readonly source: string,
    private readonly tokens: readonly Token[],
  ) {}

  static compile(pattern: string, policy: ResourceLookupPolicy): ResourcePattern {
    if (pattern.length === 0) throw new InvalidResourcePatternError('Resource cannot be empty');
    const mqtt = policy === 'MQTT_STYLE';
    if (mqtt && pattern === '#') return new ResourcePattern(pattern, [{ kind: 'all' }]);
    const tokens: Token[] = [];
    let literal = '';
    const flush = (): void => {
      if (literal.length > 0) tokens.push({ kind: 'literal', text: literal });
      literal = '';
    };
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      const atLevelStart = i === 0 || pattern[i - 1] === '/';
      const atLevelEnd = i === pattern.length - 1 || pattern[i + 1] === '/';
      if (c === '$' && pattern[i + 1] === '{') {
        const escaped = pattern[i + 2];
        if (escaped === undefined || pattern[i + 3] !== '}') {
          throw new InvalidResourcePatternError('Resource contains an invalid escape sequence. You can use ${*}, ${$}, or ${?}');
        }
        if (!ESCAPABLE.has(escaped)) {
          throw new InvalidResourcePatternError(
            `Resource contains an invalid escape sequence: \${${escaped}}. You can use \${*}, \${$}, or \${?}`,
          );
        }
        literal += escaped;
        i += 3;
      } else if (c === '?') {
        throw new InvalidResourcePatternError(
          "Resource contains invalid character: '?'. Use an escape sequence: ${?}. The '?' character isn't supported as a wildcard",
        );
      } else if (c === '*') {
        flush();
        tokens.push({ kind: 'glob' });
      } else if (mqtt && c === '+' && atLevelStart && atLevelEnd) {
        flush();
        tokens.push({ kind: 'level' });
      } else if (mqtt && c === '#' && i === pattern.length - 1 && i > 0 && pattern[i - 1] === '/') {
        // The `/` before `#` belongs to the wildcard, so that `a/#` also matches `a`.
        literal = literal.slice(0, -1);
        flush();
        tokens.push({ kind: 'subtree' });
      } else {
        literal += c;
      }
    }
    flush();
    return new ResourcePattern(pattern, tokens);
  }

  matches(resource: string): boolean {
    // Backtracking over (token, position) with a memo of dead ends keeps `*a*b*…` patterns polynomial.
    const dead = new Set<number>();
    const width = resource.length + 1;
    const from = (t: number, i: number): boolean => {
      if (t === this.tokens.length) return i === resource.length;
      const key = t * width + i;
      if (dead.has(key)) return false;
      const token = this.tokens[t]!;
      let ok = false;
      switch (token.kind) {
        case 'literal':
          ok = resource.startsWith(token.text, i) && from(t + 1, i + token.text.length);
          break;
        case 'all':
          ok = true;
          break;
        case 'subtree':
          ok = i === resource.length || resource[i] === '/';
          break;
        case 'glob':
          for (let j = i; j <= resource.length && !ok; j++) ok = from(t + 1, j);
          break;
        case 'level':
          for (let j = i; j <= resource.length && !ok; j++) {
            ok = from(t + 1, j);
            if (resource[j] === '/') break;
          }
          break;
      }
      if (!ok) dead.add(key);
      return ok;
    };
    return from(0, 0);
  }
}

/** One entry of `accessControl.<destination>.<policyId>`, compiled. */
export interface AccessPolicy {
  destination: string;
  policyId: string;
  operations: ReadonlySet<string>;
  resources: readonly ResourcePattern[];
}

export interface RejectedPolicy {
  destination: string;
  policyId: string;
  reason: string;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: JsonValue | undefined): string[] | undefined {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/** Reads `configuration.accessControl`; policies the nucleus would refuse come back in `rejected`. */
export function readAccessControl(configuration: JsonObject): { policies: AccessPolicy[]; rejected: RejectedPolicy[] } {
  const policies: AccessPolicy[] = [];
  const rejected: RejectedPolicy[] = [];
  const accessControl = configuration['accessControl'];
  if (!isObject(accessControl)) return { policies, rejected };
  for (const [destination, byId] of Object.entries(accessControl)) {
    if (!isObject(byId)) {
      rejected.push({ destination, policyId: '', reason: 'policies of a destination must be an object' });
      continue;
    }
    for (const [policyId, policy] of Object.entries(byId)) {
      const operations = isObject(policy) ? stringList(policy['operations']) : undefined;
      const resources = isObject(policy) ? (stringList(policy['resources']) ?? []) : undefined;
      if (operations === undefined || operations.length === 0 || resources === undefined) {
        rejected.push({ destination, policyId, reason: 'a policy needs a list of operations and a list of resources' });
        continue;
      }
      try {
        const compiled = resources.map((r) => ResourcePattern.compile(r, lookupPolicyFor(destination)));
        policies.push({ destination, policyId, operations: new Set(operations), resources: compiled });
      } catch (e) {
        if (!(e instanceof InvalidResourcePatternError)) throw e;
        rejected.push({ destination, policyId, reason: e.message });
      }
    }
  }
  return { policies, rejected };
}

/** Every registered component's policies; the principal of a policy is the component that holds it. */
export class AuthorizationTable {
  private readonly byComponent = new Map<string, AccessPolicy[]>();

  /** Replaces the component's policies with those in its configuration; returns the ones refused. */
  load(component: string, configuration: JsonObject): RejectedPolicy[] {
    const { policies, rejected } = readAccessControl(configuration);
    this.byComponent.set(component, policies);
    return rejected;
  }

  remove(component: string): void {
    this.byComponent.delete(component);
  }

  isAuthorized(destination: string, principal: string, operation: string, resource: string): boolean {
    for (const policy of this.byComponent.get(principal) ?? []) {
      if (policy.destination !== destination) continue;
      if (!policy.operations.has(operation) && !policy.operations.has(ANY)) continue;
      if (policy.resources.some((pattern) => pattern.matches(resource))) return true;
    }
    return false;
  }
}
