// diffConfig / updateProblems / buildConfigAudit: what a live update changes, tag by tag, and which
// updates are refused although valid on their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import { buildConfigAudit, diffConfig, updateProblems } from '../../../../components/opcua-collector/src/config-diff';
import { BASE_CONFIG } from './config-fixture';

const TAGS = [
  { name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms' },
  { name: 'Temp01', nodeId: 'ns=3;s=Temp01', mode: 'deadband', deadband: { absolute: 0.5 } },
  { name: 'Run01', nodeId: 'ns=3;s=Run01', mode: 'change' },
];

const cfg = (over: Record<string, unknown> = {}) => parseCollectorConfig({ ...structuredClone(BASE_CONFIG), tags: structuredClone(TAGS), ...over });

test('the same configuration: nothing changed', () => {
  const d = diffConfig(cfg(), cfg());
  assert.deepEqual(d.changed, []);
  assert.deepEqual([d.mappingChanged, d.reconnect, d.subscriptionChanged, d.pipelineChanged], [false, false, false, false]);
});

test('tags added, removed and changed are named, with the fields that changed', () => {
  const next = cfg({
    mappingVersion: '8',
    tags: [
      { name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms', alarm: { on: 'rms', raiseAt: 5, clearBelow: 3 } },
      { name: 'Temp01', nodeId: 'ns=3;s=Temp01b', mode: 'deadband', deadband: { absolute: 0.2 } },
      { name: 'Press01', nodeId: 'ns=3;s=Press01', mode: 'deadband', deadband: { absolute: 0.01 } },
    ],
  });
  const d = diffConfig(cfg(), next);
  assert.deepEqual(d.tags, {
    added: ['Press01'],
    removed: ['Run01'],
    changed: [
      { name: 'Vib01', fields: ['alarm'] },
      { name: 'Temp01', fields: ['nodeId', 'deadband'] },
    ],
  });
  assert.deepEqual(d.mappingVersion, { from: '7', to: '8' });
  assert.deepEqual([d.mappingChanged, d.reconnect, d.subscriptionChanged, d.pipelineChanged], [true, false, true, true]);
  assert.deepEqual(d.changed, ['mappingVersion', 'tags']);
});

test('a deadband change alone keeps the monitored items; a reorder does not', () => {
  const tags = structuredClone(TAGS);
  tags[1] = { ...tags[1]!, deadband: { absolute: 0.1 } };
  const d = diffConfig(cfg(), cfg({ mappingVersion: '8', tags }));
  assert.deepEqual([d.subscriptionChanged, d.pipelineChanged], [false, true]);
  const r = diffConfig(cfg(), cfg({ mappingVersion: '8', tags: [TAGS[1], TAGS[0], TAGS[2]] }));
  assert.deepEqual(r.tags, { added: [], removed: [], changed: [] });
  assert.deepEqual([r.subscriptionChanged, r.changed.includes('tags')], [true, true]);
});

test('server, security, trust or sampling changes need a new session; publish settings need neither session nor pipeline', () => {
  assert.equal(diffConfig(cfg(), cfg({ endpointUrl: 'opc.tcp://plc2.plant.local:4840' })).reconnect, true);
  assert.equal(diffConfig(cfg(), cfg({ serverTrust: { thumbprints: ['1123456789abcdef0123456789abcdef01234567'] } })).reconnect, true);
  assert.equal(diffConfig(cfg(), cfg({ sampling: { publishingIntervalMs: 500, queueSize: 20 } })).reconnect, true);
  // Another way to read the secret is a new identity source: reconnect with it (main.ts builds the new source).
  assert.equal(diffConfig(cfg(), cfg({ credentialsSource: 'secretsmanager' })).reconnect, true);
  const p = diffConfig(cfg(), cfg({ publish: { intervalMs: 2000, topic: 'conduit/{thingName}/t2' }, logLevel: 'debug' }));
  assert.deepEqual(p.changed, ['logLevel', 'publish.intervalMs', 'publish.topic']);
  assert.deepEqual([p.reconnect, p.pipelineChanged, p.mappingChanged], [false, false, false]);
  assert.deepEqual(diffConfig(cfg(), cfg({ publish: { queueMaxMessages: 10 } })).restartOnly, ['publish.queueMaxMessages']);
  // The sink hand-off applies live (CaptureHandoff.configure).
  const h = diffConfig(cfg(), cfg({ burst: { sinkTopic: 'plant/put', sinkAckTopic: 'plant/ack', ackTimeoutMs: 2000, maxPendingBytes: 1048576 } }));
  assert.deepEqual(h.changed, ['burst.ackTimeoutMs', 'burst.maxPendingBytes', 'burst.sinkAckTopic', 'burst.sinkTopic']);
  assert.deepEqual(h.restartOnly, []);
});

test('a tag change under the same mappingVersion is refused, naming what changed and the fix', () => {
  const [issue] = updateProblems(cfg(), cfg({ tags: TAGS.slice(0, 2) }));
  assert.equal(issue!.path, '/mappingVersion');
  assert.match(issue!.message, /still "7" but the tags changed \(removed Run01\)/);
  assert.match(issue!.fix, /new mappingVersion/);
  assert.deepEqual(updateProblems(cfg(), cfg({ tags: TAGS.slice(0, 2), mappingVersion: '8' })), []);
  assert.deepEqual(updateProblems(cfg(), cfg({ publish: { intervalMs: 2000 } })), []);
});

test('the audit message carries both mapping versions and the tag changes', () => {
  const d = diffConfig(cfg(), cfg({ mappingVersion: '8', tags: TAGS.slice(1) }));
  const body = buildConfigAudit(d, { thingName: 'gw', site: 's', area: 'a', runId: 'r', nowMs: 5, deploymentId: 'dep-1' });
  assert.deepEqual(body, {
    v: 1,
    type: 'configAudit',
    thingName: 'gw',
    site: 's',
    area: 'a',
    runId: 'r',
    at: 5,
    deploymentId: 'dep-1',
    mappingVersion: { from: '7', to: '8' },
    tags: { added: [], removed: ['Vib01'], changed: [] },
    changed: ['mappingVersion', 'tags'],
    restartOnly: [],
  });
});
