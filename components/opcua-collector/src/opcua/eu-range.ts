// The EURange (Part 8, 5.3.2: a HasProperty `EURange` of an AnalogItem, value a Range {low, high})
// of the tags whose percent deadband has no configured range, read once per session in bulk: one
// TranslateBrowsePathsToNodeIds per chunk to find the properties, then one Read per chunk for their
// values. Chunks respect the server's MaxNodesPerTranslateBrowsePathsToNodeIds and MaxNodesPerRead,
// and are halved when a server that understates its limits answers BadTooManyOperations.
//
// Read-only: TranslateBrowsePathsToNodeIds and Read only. See session.ts.
import {
  AttributeIds,
  type BrowsePathLike,
  type BrowsePathResult,
  type DataValue,
  type NodeId,
  type ReadValueIdOptions,
  ReferenceTypeIds,
  StatusCodes,
} from 'node-opcua-client';
import { toNodeId } from './node-ids';
import type { EuRangeReading } from '../eu-range';
import { inChunks } from './chunks';

/** remainingPathIndex of a target that matched the whole path (Part 4, 7.3). */
const WHOLE_PATH_MATCHED = 0xffffffff;

/** The two services used, so that a unit test can stand in for node-opcua's ClientSession. */
export interface EuRangeSession {
  translateBrowsePath(browsePaths: BrowsePathLike[]): Promise<BrowsePathResult[]>;
  read(nodesToRead: ReadValueIdOptions[]): Promise<DataValue[]>;
}

export interface EuRangeLimits {
  /** The server's MaxNodesPerTranslateBrowsePathsToNodeIds; 0 = none stated. */
  maxNodesPerTranslate: number;
  /** The server's MaxNodesPerRead; 0 = none stated. */
  maxNodesPerRead: number;
}

export interface EuRangeResult {
  /** One reading per tag the server answered for: a range, or why the tag has none. */
  readings: EuRangeReading[];
  /** Tags left without an answer because a request failed as a whole (a lost session, a timeout). */
  unanswered: number[];
  /** Why the first failed request failed; undefined when none did. */
  error: string | undefined;
  translateCalls: number;
  readCalls: number;
}

/** Reads the EURange of `targets` (tag index and NodeId string). Never throws. */
export async function readEuRanges(
  session: EuRangeSession,
  targets: readonly { tag: number; nodeId: string }[],
  limits: EuRangeLimits,
  /** The server's NamespaceArray, for `nsu=` NodeIds. */
  namespaces: readonly string[] = [],
): Promise<EuRangeResult> {
  const readings: EuRangeReading[] = [];
  const unanswered: number[] = [];
  const starts: { tag: number; nodeId: NodeId }[] = [];
  for (const t of targets) {
    try {
      starts.push({ tag: t.tag, nodeId: toNodeId(t.nodeId, namespaces) });
    } catch {
      readings.push({ tag: t.tag, problem: 'the NodeId is not valid' });
    }
  }

  const translated = await inChunks(starts, limits.maxNodesPerTranslate, (chunk) => session.translateBrowsePath(chunk.map((s) => euRangePath(s.nodeId))));
  const properties: { tag: number; nodeId: NodeId }[] = [];
  translated.results.forEach((r, i) => {
    const tag = starts[i]!.tag;
    const target = r.targets?.find((x) => x.remainingPathIndex === WHOLE_PATH_MATCHED);
    if (r.statusCode.isGood() && target) properties.push({ tag, nodeId: target.targetId });
    else if (r.statusCode.value === StatusCodes.BadNoMatch.value || r.statusCode.isGood()) readings.push({ tag, problem: 'the node has no EURange property' });
    else readings.push({ tag, problem: `looking up its EURange property failed (${r.statusCode.name})` });
  });
  for (const s of starts.slice(translated.results.length)) unanswered.push(s.tag);

  const read = await inChunks(properties, limits.maxNodesPerRead, (chunk) =>
    session.read(chunk.map((p) => ({ nodeId: p.nodeId, attributeId: AttributeIds.Value }))),
  );
  read.results.forEach((dv, i) => {
    const tag = properties[i]!.tag;
    if (!dv.statusCode.isGood()) {
      readings.push({ tag, problem: `reading its EURange failed (${dv.statusCode.name})` });
      return;
    }
    const v: unknown = dv.value?.value;
    const low: unknown = (v as { low?: unknown } | null)?.low;
    const high: unknown = (v as { high?: unknown } | null)?.high;
    if (typeof low === 'number' && typeof high === 'number') readings.push({ tag, range: { low, high } });
    else readings.push({ tag, problem: 'its EURange value is not a Range {low, high}' });
  });
  for (const p of properties.slice(read.results.length)) unanswered.push(p.tag);

  readings.sort((a, b) => a.tag - b.tag);
  return { readings, unanswered, error: translated.error ?? read.error, translateCalls: translated.calls, readCalls: read.calls };
}

/** `start` → HasProperty (or a subtype) → the node whose BrowseName is EURange in namespace 0. */
function euRangePath(start: NodeId): BrowsePathLike {
  return {
    startingNode: start,
    relativePath: {
      elements: [{ referenceTypeId: ReferenceTypeIds.HasProperty, isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: 0, name: 'EURange' } }],
    },
  };
}
