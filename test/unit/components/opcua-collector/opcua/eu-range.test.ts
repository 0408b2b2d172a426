// readEuRanges against a stand-in session: bulk TranslateBrowsePathsToNodeIds and Read within the
// server's operation limits, halved chunks when the server understates them, one answer per tag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BrowsePathLike, type BrowsePathResult, type DataValue, type ReadValueIdOptions, ReferenceTypeIds, StatusCodes, resolveNodeId } from 'node-opcua-client';
import { type EuRangeSession, readEuRanges } from '../../../../../components/opcua-collector/src/opcua/eu-range';

type Node = { range: { low: number; high: number } } | { noProperty: true } | { readStatus: 'BadNotReadable' } | { value: unknown };

/** A server with `nodes` (by NodeId string) whose real limit per request is `limit`; it records every request's size. */
class FakeSession implements EuRangeSession {
  readonly translates: number[] = [];
  readonly reads: number[] = [];
  failTranslateAt = -1;

  constructor(
    private readonly nodes: Record<string, Node>,
    private readonly limit = Infinity,
  ) {}

  async translateBrowsePath(paths: BrowsePathLike[]): Promise<BrowsePathResult[]> {
    this.translates.push(paths.length);
    if (this.translates.length - 1 === this.failTranslateAt) throw new Error('The connection has been closed (BadSessionClosed)');
    if (paths.length > this.limit) throw new Error('ServiceFault: BadTooManyOperations');
    return paths.map((p) => {
      const [element] = p.relativePath?.elements ?? [];
      assert.equal(element?.referenceTypeId, ReferenceTypeIds.HasProperty);
      assert.deepEqual(element?.targetName, { namespaceIndex: 0, name: 'EURange' });
      const id = String(p.startingNode);
      const node = this.nodes[id];
      if (!node) return { statusCode: StatusCodes.BadNodeIdUnknown, targets: null } as unknown as BrowsePathResult;
      if ('noProperty' in node) return { statusCode: StatusCodes.BadNoMatch, targets: null } as unknown as BrowsePathResult;
      return { statusCode: StatusCodes.Good, targets: [{ targetId: resolveNodeId(`ns=9;s=${id}/EURange`), remainingPathIndex: 0xffffffff }] } as unknown as BrowsePathResult;
    });
  }

  async read(nodes: ReadValueIdOptions[]): Promise<DataValue[]> {
    this.reads.push(nodes.length);
    if (nodes.length > this.limit) throw new Error('ServiceFault: BadTooManyOperations');
    return nodes.map((n) => {
      const node = this.nodes[String(n.nodeId).replace(/^ns=9;s=(.*)\/EURange$/, '$1')]!;
      if ('readStatus' in node) return { statusCode: StatusCodes.BadNotReadable, value: { value: null } } as unknown as DataValue;
      const value = 'range' in node ? { ...node.range } : 'value' in node ? node.value : null;
      return { statusCode: StatusCodes.Good, value: { value } } as unknown as DataValue;
    });
  }
}

const targets = (ids: string[]) => ids.map((nodeId, tag) => ({ tag, nodeId }));

test('one answer per tag: the range, or why there is none', async () => {
  const session = new FakeSession({
    'ns=3;s=Temp': { range: { low: -20, high: 150 } },
    'ns=3;s=Flag': { noProperty: true },
    'ns=3;s=Locked': { readStatus: 'BadNotReadable' },
    'ns=3;s=Odd': { value: 42 },
    'ns=3;s=Flat': { range: { low: 5, high: 5 } },
  });
  const r = await readEuRanges(session, targets(['ns=3;s=Temp', 'ns=3;s=Flag', 'ns=3;s=Gone', 'ns=3;s=Locked', 'not a node id', 'ns=3;s=Odd', 'ns=3;s=Flat']), {
    maxNodesPerRead: 0,
    maxNodesPerTranslate: 0,
  });
  assert.deepEqual(r.readings, [
    { tag: 0, range: { low: -20, high: 150 } },
    { tag: 1, problem: 'the node has no EURange property' },
    { tag: 2, problem: 'looking up its EURange property failed (BadNodeIdUnknown)' },
    { tag: 3, problem: 'reading its EURange failed (BadNotReadable)' },
    { tag: 4, problem: 'the NodeId is not valid' },
    { tag: 5, problem: 'its EURange value is not a Range {low, high}' },
    // An empty range is a reading: the pipeline decides it is unusable (euRangeProblem).
    { tag: 6, range: { low: 5, high: 5 } },
  ]);
  assert.deepEqual([r.unanswered, r.error, r.translateCalls, r.readCalls], [[], undefined, 1, 1]);
  assert.deepEqual([session.translates, session.reads], [[6], [4]]);
});

test('requests respect MaxNodesPerTranslateBrowsePathsToNodeIds and MaxNodesPerRead', async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `ns=3;s=T${i}`);
  const session = new FakeSession(Object.fromEntries(ids.map((id, i) => [id, { range: { low: 0, high: 10 * (i + 1) } }])));
  const r = await readEuRanges(session, targets(ids), { maxNodesPerTranslate: 4, maxNodesPerRead: 3 });
  assert.deepEqual(session.translates, [4, 4, 2]);
  assert.deepEqual(session.reads, [3, 3, 3, 1]);
  assert.deepEqual(
    r.readings.map((x) => ('range' in x ? x.range.high : x.problem)),
    [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
  );
  assert.deepEqual([r.translateCalls, r.readCalls], [3, 4]);
});

test('a server that understates its limits: BadTooManyOperations halves the chunk', async () => {
  const ids = Array.from({ length: 7 }, (_, i) => `ns=3;s=T${i}`);
  const session = new FakeSession(Object.fromEntries(ids.map((id) => [id, { range: { low: 0, high: 1 } }])), 2);
  const r = await readEuRanges(session, targets(ids), { maxNodesPerTranslate: 0, maxNodesPerRead: 5 });
  // 7 refused, 3 refused, 1 accepted… the chunk stays at 1 once halved (never grows back).
  assert.deepEqual(session.translates, [7, 3, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(session.reads, [5, 2, 2, 2, 1]);
  assert.equal(r.readings.length, 7);
  assert.equal(r.error, undefined);
});

test('a request that fails as a whole leaves the rest unanswered, with the reason; nothing throws', async () => {
  const ids = Array.from({ length: 5 }, (_, i) => `ns=3;s=T${i}`);
  const session = new FakeSession(Object.fromEntries(ids.map((id) => [id, { range: { low: 0, high: 1 } }])));
  session.failTranslateAt = 1;
  const r = await readEuRanges(session, targets(ids), { maxNodesPerTranslate: 2, maxNodesPerRead: 0 });
  assert.deepEqual(r.readings, [
    { tag: 0, range: { low: 0, high: 1 } },
    { tag: 1, range: { low: 0, high: 1 } },
  ]);
  assert.deepEqual(r.unanswered, [2, 3, 4]);
  assert.match(r.error ?? '', /BadSessionClosed/);
});
