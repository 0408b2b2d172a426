// diffSinkConfig: every changed key with both values, and which running part each change touches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSinkConfig, type SinkConfig } from '../../../../components/firehose-sink/src/config';
import { diffSinkConfig } from '../../../../components/firehose-sink/src/config-diff';

const parse = (raw: Record<string, unknown>): SinkConfig => parseSinkConfig({ deliveryStreamName: 'stream-a', ...raw }, { defaultRegion: 'eu-central-1' });
const BASE = parse({});

const NOTHING = { logLevel: false, sender: false, putTopic: false, ackTopic: false, spoolLimits: false, metrics: false };

test('the same configuration, even written differently, changes nothing', () => {
  // 1000.0 is how the nucleus (Jackson) may hand a number back; accessControl is the nucleus's.
  const same = parse({ send: { lingerMs: 1000.0 }, region: 'eu-central-1', accessControl: { x: {} } });
  assert.deepEqual(diffSinkConfig(BASE, same), { changes: [], ...NOTHING });
});

// Each case: the raw keys of the new configuration, the changes expected, and the parts touched.
const CASES: { name: string; raw: Record<string, unknown>; changes: [string, unknown, unknown][]; touches: Partial<typeof NOTHING> }[] = [
  { name: 'logLevel', raw: { logLevel: 'debug' }, changes: [['logLevel', 'info', 'debug']], touches: { logLevel: true } },
  { name: 'deliveryStreamName', raw: { deliveryStreamName: 'stream-b' }, changes: [['deliveryStreamName', 'stream-a', 'stream-b']], touches: { sender: true } },
  { name: 'region', raw: { region: 'us-east-1' }, changes: [['region', 'eu-central-1', 'us-east-1']], touches: { sender: true } },
  { name: 'a send key', raw: { send: { requestTimeoutMs: 5000 } }, changes: [['send.requestTimeoutMs', 30000, 5000]], touches: { sender: true } },
  { name: 'putTopic', raw: { putTopic: 'plant/put' }, changes: [['putTopic', 'conduit/firehose-sink/put', 'plant/put']], touches: { putTopic: true } },
  { name: 'ackTopic', raw: { ackTopic: 'plant/ack' }, changes: [['ackTopic', 'conduit/firehose-sink/ack', 'plant/ack']], touches: { ackTopic: true } },
  { name: 'spool.maxBytes', raw: { spool: { maxBytes: 134217728 } }, changes: [['spool.maxBytes', 268435456, 134217728]], touches: { spoolLimits: true } },
  { name: 'spool.segmentBytes', raw: { spool: { segmentBytes: 1048576 } }, changes: [['spool.segmentBytes', 8388608, 1048576]], touches: { spoolLimits: true } },
  { name: 'metrics.intervalSec', raw: { metrics: { intervalSec: 10 } }, changes: [['metrics.intervalSec', 60, 10]], touches: { metrics: true } },
  { name: 'metrics.topic', raw: { metrics: { topic: 'plant/{thingName}/m' } }, changes: [['metrics.topic', 'conduit/{thingName}/sink/metrics', 'plant/{thingName}/m']], touches: { metrics: true } },
];

for (const c of CASES) {
  test(`a change of ${c.name} touches only its part`, () => {
    const d = diffSinkConfig(BASE, parse(c.raw));
    assert.deepEqual(
      d.changes,
      c.changes.map(([key, from, to]) => ({ key, from, to })),
    );
    assert.deepEqual({ ...d, changes: [] }, { changes: [], ...NOTHING, ...c.touches });
  });
}

test('several changes at once are listed sorted by key, each with both values', () => {
  const d = diffSinkConfig(BASE, parse({ deliveryStreamName: 'stream-b', metrics: { intervalSec: 5 }, send: { lingerMs: 10, maxBackoffMs: 1000 }, logLevel: 'warn' }));
  assert.deepEqual(
    d.changes.map((c) => c.key),
    ['deliveryStreamName', 'logLevel', 'metrics.intervalSec', 'send.lingerMs', 'send.maxBackoffMs'],
  );
  assert.deepEqual(d.changes[3], { key: 'send.lingerMs', from: 1000, to: 10 });
  assert.deepEqual({ ...d, changes: [] }, { changes: [], ...NOTHING, logLevel: true, sender: true, metrics: true });
});
