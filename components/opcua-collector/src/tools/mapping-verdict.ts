// What check-mapping concludes about one tag from what the server said about its node. Pure: the
// facts come from mapping-probe.ts, so every verdict is testable without a server.
//
// The rules follow what the collector does with a sample, not what OPC UA allows: rms and deadband
// tags (and any tag with an alarm) need JavaScript numbers (SampleGate drops anything else as
// wrongType); change tags need numbers, Booleans or strings (ChangeEncoder drops objects and arrays).
// node-opcua delivers DateTime, LocalizedText, ByteString as objects, so those never reach the cloud
// whatever the mode; Int64/UInt64 arrive as [high, low] pairs, which the collector turns into
// numbers while they are exact (opcua/int64.ts).
import type { TagConfig } from '../config-types';

/** What the collector can do with a data type's values. */
export type DataKind = 'numeric' | 'int64' | 'boolean' | 'string' | 'enumeration' | 'other' | 'any';

/** The JavaScript shape of a value as node-opcua hands it to the collector. */
export type ValueShape = 'number' | 'boolean' | 'string' | 'array' | 'object' | 'none';

export interface DataTypeFact {
  /** NodeId of the DataType, e.g. `ns=0;i=11`. */
  id: string;
  /** Its name, e.g. `Double`, or the NodeId when the server did not say. */
  name: string;
  kind: DataKind;
}

/** Everything the server told about a tag's node. Absent fields were not asked or not answered. */
export interface TagFacts {
  /** The collector cannot use the NodeId string at all (node-opcua refuses it). */
  nodeIdProblem?: { what: string; fix: string };
  /** false: the server has no such node; undefined: it could not be asked (a failed request). */
  exists?: boolean;
  /** The status that said so (BadNodeIdUnknown), or why it could not be asked. */
  existsStatus?: string;
  nodeClass?: string;
  accessLevel?: number;
  userAccessLevel?: number;
  valueRank?: number;
  dataType?: DataTypeFact;
  /** The first sample the test subscription delivered, else the value Read. */
  value?: { status: string; good: boolean; shape: ValueShape; from: 'subscription' | 'read'; timestamps?: 'source' | 'server' | 'none' };
  monitored?: { ok: true; revisedSamplingMs: number } | { ok: false; status: string };
  /** Monitored, but no sample (not even the initial value OPC UA always sends) within this many ms. */
  noSampleWithinMs?: number;
  /** Only for a percent deadband without a configured range: the EURange the collector would read. */
  euRange?: { low: number; high: number } | { problem: string };
}

export interface Finding {
  level: 'problem' | 'warning';
  what: string;
  fix: string;
}

export type Verdict = 'ok' | 'warn' | 'FAIL';

export interface TagCheck {
  verdict: Verdict;
  findings: Finding[];
}

/** AccessLevel bit 0 (Part 3, 8.57). */
export const CURRENT_READ = 0x01;

/** Namespace-0 data types by numeric id, with what the collector can do with their values. */
const BASE_TYPES: ReadonlyMap<number, { name: string; kind: DataKind }> = new Map([
  [1, { name: 'Boolean', kind: 'boolean' }],
  [2, { name: 'SByte', kind: 'numeric' }],
  [3, { name: 'Byte', kind: 'numeric' }],
  [4, { name: 'Int16', kind: 'numeric' }],
  [5, { name: 'UInt16', kind: 'numeric' }],
  [6, { name: 'Int32', kind: 'numeric' }],
  [7, { name: 'UInt32', kind: 'numeric' }],
  [8, { name: 'Int64', kind: 'int64' }],
  [9, { name: 'UInt64', kind: 'int64' }],
  [10, { name: 'Float', kind: 'numeric' }],
  [11, { name: 'Double', kind: 'numeric' }],
  [12, { name: 'String', kind: 'string' }],
  [13, { name: 'DateTime', kind: 'other' }],
  // node-opcua hands Guid and XmlElement values over as strings.
  [14, { name: 'Guid', kind: 'string' }],
  [15, { name: 'ByteString', kind: 'other' }],
  [16, { name: 'XmlElement', kind: 'string' }],
  [17, { name: 'NodeId', kind: 'other' }],
  [18, { name: 'ExpandedNodeId', kind: 'other' }],
  [19, { name: 'StatusCode', kind: 'other' }],
  [20, { name: 'QualifiedName', kind: 'other' }],
  [21, { name: 'LocalizedText', kind: 'other' }],
  [22, { name: 'Structure', kind: 'other' }],
  [23, { name: 'DataValue', kind: 'other' }],
  [24, { name: 'BaseDataType', kind: 'any' }],
  [25, { name: 'DiagnosticInfo', kind: 'other' }],
  // Abstract: a variable of these may hold any subtype; the value's shape settles it.
  [26, { name: 'Number', kind: 'numeric' }],
  [27, { name: 'Integer', kind: 'numeric' }],
  [28, { name: 'UInteger', kind: 'numeric' }],
  [29, { name: 'Enumeration', kind: 'enumeration' }],
  [50, { name: 'Decimal', kind: 'other' }],
]);

/** A namespace-0 base data type by NodeId string (`ns=0;i=11` or `i=11`), or undefined for any other. */
export function baseDataType(id: string): { name: string; kind: DataKind } | undefined {
  const m = /^(?:ns=0;)?i=(\d+)$/.exec(id);
  return m ? BASE_TYPES.get(Number(m[1])) : undefined;
}

/** The JavaScript shape of a value. */
export function shapeOf(value: unknown): ValueShape {
  if (value === undefined || value === null) return 'none';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  return Array.isArray(value) || ArrayBuffer.isView(value) ? 'array' : 'object';
}

/** rms and deadband tags, and any tag with an alarm, need numbers. */
export function needsNumbers(tag: TagConfig): boolean {
  return tag.mode !== 'change' || tag.alarm !== undefined;
}

/** The verdict on `tag` (the configuration's `tags[index]`) given what the server said. */
export function checkTag(tag: TagConfig, index: number, facts: TagFacts, requestedSamplingMs: number): TagCheck {
  const findings: Finding[] = [];
  const problem = (what: string, fix: string): void => void findings.push({ level: 'problem', what, fix });
  const warning = (what: string, fix: string): void => void findings.push({ level: 'warning', what, fix });
  const at = `tags[${index}]`;
  checkNode(tag, at, facts, problem);
  if (findings.length === 0) {
    checkAccess(at, facts, problem, warning);
    checkType(tag, at, facts, problem, warning);
    checkSampling(tag, at, facts, requestedSamplingMs, problem, warning);
    if (facts.euRange && 'problem' in facts.euRange) {
      problem(`deadband.percent needs a range, and ${facts.euRange.problem}`, `set deadband.rangeMin and deadband.rangeMax in ${at}, or use deadband.absolute`);
    }
  }
  const verdict: Verdict = findings.some((f) => f.level === 'problem') ? 'FAIL' : findings.length > 0 ? 'warn' : 'ok';
  return { verdict, findings };
}

type Note = (what: string, fix: string) => void;

function checkNode(tag: TagConfig, at: string, f: TagFacts, problem: Note): void {
  if (f.nodeIdProblem) return problem(f.nodeIdProblem.what, f.nodeIdProblem.fix);
  if (f.exists === false) {
    return problem(`the server has no node ${tag.nodeId} (${f.existsStatus ?? 'BadNodeIdUnknown'})`, `correct ${at}.nodeId: find the variable with an OPC UA browser (e.g. UaExpert) or ask the OT team`);
  }
  if (f.exists === undefined) return problem(`could not be checked (${f.existsStatus ?? 'no answer from the server'})`, 'run check-mapping again; if it persists, see the connection problems above');
  if (f.nodeClass !== 'Variable') {
    const what = f.nodeClass ? `is ${article(f.nodeClass)} ${f.nodeClass}, not a Variable: it has no value` : 'is not a Variable (its node class could not be read)';
    problem(what, `point ${at}.nodeId at the variable itself (often a child of this node)`);
  }
}

function checkAccess(at: string, f: TagFacts, problem: Note, warning: Note): void {
  if (f.accessLevel !== undefined && (f.accessLevel & CURRENT_READ) === 0) {
    problem('the server does not allow reading it (AccessLevel has no CurrentRead)', `map a readable variable in ${at}, or have the OT team make this one readable`);
  } else if (f.userAccessLevel !== undefined && (f.userAccessLevel & CURRENT_READ) === 0) {
    problem("the OPC UA user may not read it (UserAccessLevel has no CurrentRead)", "give the collector's OPC UA user read access to it on the server");
  } else if (f.value && !f.value.good) {
    if (/BadUserAccessDenied|BadNotReadable/.test(f.value.status)) problem(`reading its value fails (${f.value.status})`, "give the collector's OPC UA user read access to it on the server");
    else warning(`its value has status ${f.value.status} now`, 'the collector publishes the status instead of a value while it lasts; check the device behind the node');
  }
}

function checkType(tag: TagConfig, at: string, f: TagFacts, problem: Note, warning: Note): void {
  const kind = f.dataType?.kind;
  const name = f.dataType?.name ?? 'of an unknown data type';
  const shape = f.value?.good ? f.value.shape : undefined;
  if (kind === 'int64') {
    warning(`is ${name}: values are exact up to ±2^53 (9,007,199,254,740,992); a value beyond that is dropped as the wrong type`, 'nothing to do for counters that stay below that; otherwise expose the value as Double');
  }
  // node-opcua hands a 64-bit integer over as a [high, low] pair: that array is one value.
  if ((f.valueRank !== undefined && f.valueRank >= 0) || (shape === 'array' && kind !== 'int64')) {
    return problem(`holds an array${f.valueRank !== undefined && f.valueRank >= 0 ? ` (ValueRank ${f.valueRank})` : ''}, not one value`, `map a scalar variable in ${at} (one per element you need)`);
  }
  const needNumbers = needsNumbers(tag);
  const why = `mode ${tag.mode}${tag.alarm ? ' with an alarm' : ''}`;
  const acceptable = needNumbers ? kind === 'numeric' || kind === 'int64' : kind === 'numeric' || kind === 'int64' || kind === 'boolean' || kind === 'string' || kind === 'enumeration';
  if (kind === 'any' || kind === undefined) {
    // BaseDataType (any value) or no answer: the value's shape is all there is to go by.
    const fits = needNumbers ? shape === 'number' : shape === 'number' || shape === 'boolean' || shape === 'string';
    if (shape === undefined || shape === 'none') warning(`its data type (${name}) does not say what values it holds, and no value was seen`, 'check it holds numbers (or, for mode change, Booleans or strings)');
    else if (!fits) problem(`holds ${shape} values, which ${why} cannot use`, needNumbers ? `map a numeric variable in ${at}, or use mode change` : `map a variable of a simple type in ${at}`);
    return;
  }
  if (!acceptable) {
    if (needNumbers) {
      const simple = kind === 'boolean' || kind === 'string' || kind === 'enumeration';
      return problem(`is ${name}, not numeric: ${why} needs numbers`, simple ? `use mode change for ${at}${tag.alarm ? ' and remove its alarm' : ''}` : `map a numeric variable in ${at}`);
    }
    return problem(`is ${name}: the collector drops such values (mode change takes numbers, Booleans and strings)`, `map a variable of a simple type in ${at}`);
  }
  if (needNumbers && kind !== 'int64' && shape !== undefined && shape !== 'none' && shape !== 'number') {
    problem(`is ${name} but its value arrives as ${shape}`, `map a variable whose value is a plain number in ${at}`);
  }
}

function checkSampling(tag: TagConfig, at: string, f: TagFacts, requestedMs: number, problem: Note, warning: Note): void {
  const m = f.monitored;
  if (m === undefined) return;
  if (!m.ok) return problem(`the server refused to monitor it (${m.status})`, `check ${at}.nodeId, and that the OPC UA user may subscribe to it`);
  if (f.noSampleWithinMs !== undefined) {
    warning(`no sample arrived within ${f.noSampleWithinMs} ms, not even the initial value a server sends at once`, 'check the node on the server (its value source, its sampling)');
  }
  const ts = f.value?.timestamps;
  if (ts === 'server' || ts === 'none') {
    warning(
      ts === 'server'
        ? 'the server sends no source timestamp for it: the collector times its samples by the server timestamp'
        : 'the server sends no timestamp at all for it: the collector times its samples on arrival, spread back by the sampling interval',
      'enable source timestamps for this node on the server (or its device driver); the values are all kept meanwhile (docs/collector.md, timestamps)',
    );
  }
  const granted = m.revisedSamplingMs;
  if (!(granted > requestedMs)) return;
  if (tag.mode === 'rms' && granted > tag.windowMs) {
    return problem(`the server samples it every ${granted} ms, longer than its ${tag.windowMs} ms window: windows would be empty`, `set ${at}.windowMs to a multiple of sampling.intervalMs of at least ${granted}, or have the OT team lower the node's MinimumSamplingInterval`);
  }
  warning(`the server samples it every ${granted} ms, not every ${requestedMs} ms`, "fewer samples per window or deadband decision; the node's MinimumSamplingInterval on the server sets this");
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
