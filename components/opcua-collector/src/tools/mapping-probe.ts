// check-mapping's questions to the server, all read-only: Read (attributes, values, the server's
// limits, the namespace array, data type names), Browse (a data type's supertypes), and the EURange
// lookup the collector itself does (TranslateBrowsePaths + Read, opcua/eu-range.ts). The test
// subscription is in mapping-subscription.ts. Never Write, Call or HistoryUpdate.
//
// Every request is chunked by the server's own limits and halved when a server that understates
// them answers BadTooManyOperations, as the collector's requests are.
import {
  AttributeIds,
  BrowseDirection,
  type BrowseDescriptionOptions,
  type BrowseResult,
  type ClientSession,
  type DataValue,
  NodeClass,
  type NodeId,
  type ReadValueIdOptions,
  ReferenceTypeIds,
  StatusCodes,
  VariableIds,
} from 'node-opcua-client';
import type { CollectorConfig } from '../config-types';
import { needsEuRange } from '../eu-range';
import { readEuRanges } from '../opcua/eu-range';
import { toNodeId } from '../opcua/node-ids';
import { inChunks } from '../opcua/chunks';
import { baseDataType, shapeOf, type DataKind, type DataTypeFact, type TagFacts } from './mapping-verdict';

/** Supertype steps followed from a vendor data type towards a namespace-0 one. */
const MAX_SUPERTYPE_DEPTH = 10;

/** The limits shown in the report; `value` undefined = the server does not state it. */
export interface ServerLimit {
  name: string;
  value: number | undefined;
}

const LIMITS: readonly { name: string; id: number }[] = [
  { name: 'MaxNodesPerRead', id: VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead },
  { name: 'MaxNodesPerBrowse', id: VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse },
  { name: 'MaxNodesPerTranslateBrowsePathsToNodeIds', id: VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds },
  { name: 'MaxMonitoredItemsPerCall', id: VariableIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall },
  { name: 'MaxMonitoredItemsPerSubscription', id: VariableIds.Server_ServerCapabilities_MaxMonitoredItemsPerSubscription },
  { name: 'MaxMonitoredItems', id: VariableIds.Server_ServerCapabilities_MaxMonitoredItems },
  { name: 'MinSupportedSampleRate', id: VariableIds.Server_ServerCapabilities_MinSupportedSampleRate },
];

const ATTRIBUTES = [
  AttributeIds.NodeClass,
  AttributeIds.DataType,
  AttributeIds.ValueRank,
  AttributeIds.AccessLevel,
  AttributeIds.UserAccessLevel,
  AttributeIds.Value,
] as const;

/** The server's limits. MaxNodesPerRead is read alone first, so that no request exceeds it. */
export async function readServerLimits(session: ClientSession): Promise<ServerLimit[]> {
  const [first] = await readValues(session, [LIMITS[0]!.id], 1);
  const maxRead = first ?? 0;
  const rest = await readValues(session, LIMITS.slice(1).map((l) => l.id), maxRead);
  const values = [first, ...rest];
  return LIMITS.map((l, i) => ({ name: l.name, value: values[i] }));
}

export function limitOf(limits: readonly ServerLimit[], name: string): number {
  return limits.find((l) => l.name === name)?.value ?? 0;
}

/** What the server says about every tag's node (the subscription's findings are added later). */
export async function probeTags(session: ClientSession, config: CollectorConfig, limits: readonly ServerLimit[]): Promise<TagFacts[]> {
  const maxRead = limitOf(limits, 'MaxNodesPerRead');
  const facts: TagFacts[] = config.tags.map(() => ({}));
  const namespaces = config.tags.some((t) => t.nodeId.startsWith('nsu=')) ? await readNamespaceArray(session) : undefined;
  const nodes: { tag: number; nodeId: NodeId }[] = [];
  config.tags.forEach((t, tag) => {
    try {
      nodes.push({ tag, nodeId: toNodeId(t.nodeId, namespaces ?? []) });
    } catch {
      facts[tag]!.nodeIdProblem = unresolvable(t.nodeId, namespaces);
    }
  });

  const reads: ReadValueIdOptions[] = nodes.flatMap((n) => ATTRIBUTES.map((attributeId) => ({ nodeId: n.nodeId, attributeId })));
  const read = await inChunks(reads, maxRead, (chunk) => session.read(chunk));
  nodes.forEach((n, i) => {
    const f = facts[n.tag]!;
    const dvs = read.results.slice(i * ATTRIBUTES.length, (i + 1) * ATTRIBUTES.length);
    if (dvs.length < ATTRIBUTES.length) {
      f.existsStatus = read.error ?? 'no answer';
      return;
    }
    applyAttributes(f, dvs as DataValue[]);
  });

  await classifyDataTypes(session, facts, maxRead, limitOf(limits, 'MaxNodesPerBrowse'));

  const euTargets = config.tags.flatMap((t, tag) => (needsEuRange(t) && facts[tag]!.exists === true ? [{ tag, nodeId: t.nodeId }] : []));
  if (euTargets.length > 0) {
    const eu = await readEuRanges(session, euTargets, { maxNodesPerRead: maxRead, maxNodesPerTranslate: limitOf(limits, 'MaxNodesPerTranslateBrowsePathsToNodeIds') }, namespaces ?? []);
    for (const r of eu.readings) facts[r.tag]!.euRange = 'range' in r ? r.range : { problem: r.problem };
    for (const tag of eu.unanswered) facts[tag]!.euRange = { problem: `its EURange could not be read (${eu.error ?? 'no answer'})` };
  }
  return facts;
}

function applyAttributes(f: TagFacts, [nodeClass, dataType, valueRank, access, userAccess, value]: DataValue[]): void {
  if (!nodeClass!.statusCode.isGood()) {
    const unknown = nodeClass!.statusCode.value === StatusCodes.BadNodeIdUnknown.value;
    if (unknown) f.exists = false;
    f.existsStatus = nodeClass!.statusCode.name;
    return;
  }
  f.exists = true;
  f.nodeClass = NodeClass[nodeClass!.value.value as number] ?? String(nodeClass!.value.value);
  if (f.nodeClass !== 'Variable') return;
  const id = dataType!.statusCode.isGood() ? (dataType!.value.value as NodeId | null)?.toString() : undefined;
  if (id !== undefined) f.dataType = { id, name: id, kind: 'any' };
  if (valueRank!.statusCode.isGood()) f.valueRank = valueRank!.value.value as number;
  if (access!.statusCode.isGood()) f.accessLevel = access!.value.value as number;
  if (userAccess!.statusCode.isGood()) f.userAccessLevel = userAccess!.value.value as number;
  const good = value!.statusCode.isGood();
  f.value = { status: value!.statusCode.name, good, shape: good ? shapeOf(value!.value.value) : 'none', from: 'read' };
}

/**
 * Names and kinds of the tags' data types: namespace-0 base types are known; any other (a vendor's
 * subtype of Double, Duration, an enumeration) is followed up its HasSubtype chain to one.
 */
async function classifyDataTypes(session: ClientSession, facts: TagFacts[], maxRead: number, maxBrowse: number): Promise<void> {
  const ids = [...new Set(facts.flatMap((f) => (f.dataType ? [f.dataType.id] : [])))];
  const known = new Map<string, DataTypeFact>();
  const unknown: string[] = [];
  for (const id of ids) {
    const base = baseDataType(id);
    if (base) known.set(id, { id, ...base });
    else unknown.push(id);
  }
  if (unknown.length > 0) {
    const names = await inChunks(unknown, maxRead, (chunk) => session.read(chunk.map((id) => ({ nodeId: id, attributeId: AttributeIds.BrowseName }))));
    const kinds = await supertypeKinds(session, unknown, maxBrowse);
    unknown.forEach((id, i) => {
      const dv = names.results[i];
      const name: unknown = dv?.statusCode.isGood() ? (dv.value.value as { name?: unknown } | null)?.name : undefined;
      const via = kinds.get(id);
      known.set(id, { id, name: typeof name === 'string' ? `${name}${via ? ` (a ${via.name})` : ''}` : id, kind: via?.kind ?? 'any' });
    });
  }
  for (const f of facts) if (f.dataType) f.dataType = known.get(f.dataType.id) ?? f.dataType;
}

/** For each data type, the first namespace-0 base type up its supertype chain. */
async function supertypeKinds(session: ClientSession, ids: readonly string[], maxBrowse: number): Promise<Map<string, { name: string; kind: DataKind }>> {
  const out = new Map<string, { name: string; kind: DataKind }>();
  let current = new Map(ids.map((id) => [id, id])); // original type -> the type reached so far
  for (let depth = 0; depth < MAX_SUPERTYPE_DEPTH && current.size > 0; depth++) {
    const pending = [...current.entries()];
    const browsed = await inChunks(pending, maxBrowse, (chunk) => session.browse(chunk.map(([, at]) => supertypeOf(at))));
    const next = new Map<string, string>();
    browsed.results.forEach((r: BrowseResult, i) => {
      const [origin] = pending[i]!;
      const parent = r.statusCode.isGood() ? r.references?.[0]?.nodeId.toString() : undefined;
      if (parent === undefined) return;
      const base = baseDataType(parent);
      if (base) out.set(origin, base);
      else next.set(origin, parent);
    });
    current = next;
  }
  return out;
}

function supertypeOf(nodeId: string): BrowseDescriptionOptions {
  return { nodeId, browseDirection: BrowseDirection.Inverse, referenceTypeId: ReferenceTypeIds.HasSubtype, includeSubtypes: false, nodeClassMask: 0, resultMask: 0 };
}

/** A NodeId the collector cannot use: not parseable, or (`nsu=`) a namespace URI the server does not have. */
function unresolvable(nodeId: string, namespaces: readonly string[] | undefined): { what: string; fix: string } {
  const uri = /^nsu=([^;]+);/.exec(nodeId)?.[1];
  if (uri === undefined) return { what: `the collector cannot parse the NodeId ${nodeId}`, fix: 'write it as ns=<index>;s=<name> (or i=, g=, b=)' };
  if (namespaces === undefined) return { what: `uses a namespace URI (nsu=), but the server's NamespaceArray could not be read`, fix: 'check the server, or write the NodeId as ns=<index>;...' };
  return {
    what: `uses a namespace URI (nsu=) the server does not have: ${uri}`,
    fix: `check the URI against the server's NamespaceArray (${namespaces.join(', ')})`,
  };
}

async function readNamespaceArray(session: ClientSession): Promise<string[] | undefined> {
  try {
    const [dv] = await session.read([{ nodeId: VariableIds.Server_NamespaceArray, attributeId: AttributeIds.Value }]);
    const v: unknown = dv?.value.value;
    return Array.isArray(v) ? v.map(String) : undefined;
  } catch {
    return undefined;
  }
}

/** Values of namespace-0 numeric nodes; undefined where absent, Bad or not a positive-or-zero number. */
async function readValues(session: ClientSession, ids: readonly number[], maxRead: number): Promise<(number | undefined)[]> {
  const r = await inChunks(ids, maxRead, (chunk) => session.read(chunk.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value }))));
  return ids.map((_, i) => {
    const dv = r.results[i];
    const v: unknown = dv?.value.value;
    return dv?.statusCode.isGood() && typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
  });
}

