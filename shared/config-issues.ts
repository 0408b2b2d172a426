// ajv's validation errors, in an engineer's words: one ConfigIssue (JSON path, what is wrong, the
// fix) per error, with "did you mean" for unknown keys. Every component's config parser uses this,
// so a typo or an out-of-range value reads the same whichever component's configuration it is in.
import type { ErrorObject } from 'ajv';
import type { ConfigIssue } from './config-error';

/** The parts of a JSON Schema node the messages draw on. */
export interface SchemaLike {
  type?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  patternErrorMessage?: string;
  /** The fix when a list or text is longer than its bound allows (e.g. the tag count). */
  limitErrorMessage?: string;
  properties?: Record<string, SchemaLike>;
}

export interface IssueTranslatorOptions {
  /** Every key of the schema as a dotted path (`publish.maxMessageBytes`), for "belongs in". */
  schemaPaths: readonly string[];
  /** Where a reader finds what the schema cannot say, e.g. `docs/configuration.md`. */
  docs: string;
  /** Keys allowed but not worth suggesting (the nucleus's accessControl). */
  hiddenKeys?: ReadonlySet<string>;
}

export interface IssueTranslator {
  toIssue(e: ErrorObject): ConfigIssue;
  /** True when `key`, normalized (case, `-`, `_`, `.`), is the last segment of a schema key. */
  isKnownKeyName(key: string): boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON pointer one level below `base` (RFC 6901 escaping). */
export const pointer = (base: string, key: string | number): string => `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Issues in document order: array indices numerically, keys alphabetically, parents first. */
export function byPath(a: ConfigIssue, b: ConfigIssue): number {
  const x = a.path.split('/');
  const y = b.path.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const nx = Number(x[i]);
    const ny = Number(y[i]);
    if (Number.isInteger(nx) && Number.isInteger(ny)) return nx - ny;
    return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object of keys and values',
};

/** A value worth showing as "e.g.": the default, else the first example, if short. */
function example(s: SchemaLike | undefined): string {
  const v = s?.default !== undefined && !(isObj(s.default) && Object.keys(s.default).length === 0) ? s.default : s?.examples?.[0];
  if (v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length <= 80 ? `, e.g. ${text}` : '';
}

function range(s: SchemaLike): string {
  const kind = s.type === 'integer' ? 'a whole number' : 'a number';
  const lo = s.minimum !== undefined ? { v: s.minimum, incl: true } : s.exclusiveMinimum !== undefined ? { v: s.exclusiveMinimum, incl: false } : undefined;
  const hi = s.maximum !== undefined ? { v: s.maximum, incl: true } : s.exclusiveMaximum !== undefined ? { v: s.exclusiveMaximum, incl: false } : undefined;
  if (lo && hi) return `${kind} between ${lo.v} and ${hi.v}${lo.incl ? '' : ` (above ${lo.v})`}${hi.incl ? '' : ` (below ${hi.v})`}`;
  if (lo) return `${kind} ${lo.incl ? 'of at least' : 'above'} ${lo.v}`;
  if (hi) return `${kind} ${hi.incl ? 'of at most' : 'below'} ${hi.v}`;
  return kind;
}

/** What the value was, for a type error: ` (got the text "100")`. Short values only. */
function gotType(v: unknown): string {
  if (typeof v === 'string') return v.length <= 40 ? ` (got the text ${JSON.stringify(v)})` : ' (got text)';
  if (typeof v === 'number' || typeof v === 'boolean') return ` (got ${String(v)})`;
  if (Array.isArray(v)) return ' (got a list)';
  if (typeof v === 'object' && v !== null) return ' (got an object)';
  return '';
}

/**
 * The fix for a value written in the wrong JSON type that reads right to a person: "100" for a
 * number, "true" for a boolean, 12 for a text. Values are never coerced (a configuration is a
 * security artifact), so the fix says how to write it.
 */
function quoting(want: string, v: unknown): string | undefined {
  if ((want === 'integer' || want === 'number') && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) {
    return `write the number without quotes: ${Number(v)}`;
  }
  if (want === 'boolean' && (v === 'true' || v === 'false' || v === 0 || v === 1)) return `write true or false without quotes`;
  if (want === 'string' && (typeof v === 'number' || typeof v === 'boolean')) return `write it as text, in quotes: "${String(v)}"`;
  return undefined;
}

const norm = (k: string) => k.toLowerCase().replace(/[-_\s.[\]]/g, '');

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** How near an unknown key is to a known one (lower is nearer); undefined when not a plausible typo. */
function closeness(key: string, candidate: string): number | undefined {
  const a = norm(key);
  const b = norm(candidate);
  const d = distance(a, b);
  if (d <= (Math.min(a.length, b.length) <= 4 ? 1 : 2)) return d;
  // "endpoint" for "endpointUrl": a long enough prefix is a typo too.
  if (Math.min(a.length, b.length) >= 5 && (a.startsWith(b) || b.startsWith(a))) return 3;
  // "maxMessageSize" for "maxMessageBytes": most of the name is right.
  let common = 0;
  while (common < Math.min(a.length, b.length) && a[common] === b[common]) common++;
  if (common >= 5 && common >= 0.6 * Math.min(a.length, b.length)) return 4;
  return undefined;
}

export function issueTranslator(o: IssueTranslatorOptions): IssueTranslator {
  const hidden = o.hiddenKeys ?? new Set<string>();
  const known = new Set(o.schemaPaths.map((p) => norm(p.slice(p.lastIndexOf('.') + 1))));

  /** Best known key near an unknown one: a sibling, a key one level down, or a key elsewhere. */
  const unknownKeyFix = (key: string, parent: SchemaLike | undefined): string => {
    const candidates: { label: string; d: number }[] = [];
    for (const [sibling, child] of Object.entries(parent?.properties ?? {})) {
      const d = closeness(key, sibling);
      if (d !== undefined) candidates.push({ label: `"${sibling}"`, d });
      // samplingIntervalMS for sampling.intervalMs: a flattened nested key.
      for (const grand of Object.keys(child.properties ?? {})) {
        const d2 = closeness(key, sibling + grand);
        if (d2 !== undefined) candidates.push({ label: `"${grand}" inside "${sibling}"`, d: d2 });
      }
    }
    candidates.sort((x, y) => x.d - y.d);
    if (candidates.length > 0) return `remove or rename it: did you mean ${candidates[0]!.label}? (keys are case-sensitive)`;
    // "topic" at the top level: the key exists, somewhere else.
    const elsewhere = o.schemaPaths.filter((path) => norm(path.slice(path.lastIndexOf('.') + 1)) === norm(key));
    if (elsewhere.length > 0) return `move it: ${key} belongs in ${elsewhere.join(' or ')}`;
    const allowed = Object.keys(parent?.properties ?? {}).filter((k) => !hidden.has(k));
    return `remove it; the keys allowed here are ${allowed.join(', ')}`;
  };

  const toIssue = (e: ErrorObject): ConfigIssue => {
    const s = e.parentSchema as SchemaLike | undefined;
    const p = e.params as Record<string, unknown>;
    const got = typeof e.data === 'number' || typeof e.data === 'boolean' ? ` (got ${e.data})` : '';
    switch (e.keyword) {
      case 'required': {
        const key = String(p.missingProperty);
        return { path: pointer(e.instancePath, key), message: 'is required', fix: `add ${key}${example(s?.properties?.[key])}` };
      }
      case 'additionalProperties': {
        const key = String(p.additionalProperty);
        return { path: pointer(e.instancePath, key), message: 'is not a known key', fix: unknownKeyFix(key, s) };
      }
      case 'type': {
        const want = TYPE_WORDS[String(p.type)] ?? String(p.type);
        const reset = s?.default !== undefined ? ' (or remove it to use the default)' : '';
        return { path: e.instancePath, message: `must be ${want}${gotType(e.data)}`, fix: `${quoting(String(p.type), e.data) ?? `set it to ${want}${example(s)}`}${reset}` };
      }
      case 'enum': {
        const values = (s?.enum ?? []).map((v) => JSON.stringify(v)).join(', ');
        const caseNote = (s?.enum ?? []).some((v) => typeof v === 'string') ? ' (case matters)' : '';
        return { path: e.instancePath, message: `must be one of ${values}${got}`, fix: `set it to one of ${values}${caseNote}` };
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        return { path: e.instancePath, message: `must be ${range(s ?? {})}${got}`, fix: `set it to ${range(s ?? {})}${example(s)}` };
      case 'minLength':
        return { path: e.instancePath, message: 'must not be empty', fix: `set it${example(s)}` };
      case 'maxLength':
        return { path: e.instancePath, message: `is longer than ${String(p.limit)} characters`, fix: `shorten it to at most ${String(p.limit)} characters` };
      case 'pattern':
        return { path: e.instancePath, message: 'has characters or a form that is not allowed', fix: s?.patternErrorMessage ?? `see ${o.docs}` };
      case 'maxItems': {
        const n = Array.isArray(e.data) ? e.data.length : undefined;
        return {
          path: e.instancePath,
          message: `has ${n ?? 'more'} entries, more than the ${String(p.limit)} allowed`,
          fix: s?.limitErrorMessage ?? `remove entries to at most ${String(p.limit)}`,
        };
      }
      case 'minItems':
        return { path: e.instancePath, message: `needs at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}`, fix: `add one${example(s)}` };
      case 'uniqueItems':
        // Which of i and j is the later entry depends on ajv's code path: report the later one.
        return { path: pointer(e.instancePath, Math.max(Number(p.i), Number(p.j))), message: `repeats entry ${Math.min(Number(p.i), Number(p.j))}`, fix: 'remove the duplicate' };
      default:
        return { path: e.instancePath, message: e.message ?? 'is invalid', fix: `see ${o.docs}` };
    }
  };

  return { toIssue, isKnownKeyName: (key) => known.has(norm(key)) };
}
