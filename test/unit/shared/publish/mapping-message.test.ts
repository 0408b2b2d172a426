import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMappingMessages, mappingPartTopic, type MappingInput, type MappingTag } from '../../../../shared/publish/mapping-message';
import { PublishConfigError } from '../../../../shared/publish/errors';

const AT = 1_700_000_000_000;
const base = (tags: MappingTag[]): MappingInput => ({
  thingName: 'gw-1',
  site: 'plant-a',
  area: 'line-1',
  mappingVersion: 'm7',
  runId: 'r1',
  samplingIntervalMs: 100,
  significantDigits: 10,
  rmsFields: ['rms', 'max'],
  tags,
});

test('one part: every tag with index, name, nodeId, mode, unit, window, expected samples, deadband, heartbeat', () => {
  const parts = buildMappingMessages(
    base([
      { name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms', windowMs: 1000, unit: 'mm/s' },
      { name: 'Temp01', nodeId: 'ns=3;s=Line1.Temp01', mode: 'deadband', windowMs: 1000, deadband: { kind: 'percent', percent: 0.5, rangeMin: 0, rangeMax: 200 }, resolvedDeadband: 1, heartbeatMs: 60_000, unit: '°C' },
      { name: 'Running', nodeId: 'ns=3;s=Line1.Running', mode: 'change', windowMs: 1000 },
    ]),
    AT,
    131_072,
  );
  assert.equal(parts.length, 1);
  assert.deepEqual({ ...parts[0], payload: undefined }, { part: 0, parts: 1, firstTag: 0, tagsInPart: 3, payload: undefined });
  assert.deepEqual(JSON.parse(parts[0]!.payload.toString()), {
    v: 1,
    type: 'mapping',
    thingName: 'gw-1',
    site: 'plant-a',
    area: 'line-1',
    mappingVersion: 'm7',
    runId: 'r1',
    at: AT,
    part: 0,
    parts: 1,
    firstTag: 0,
    tagCount: 3,
    samplingIntervalMs: 100,
    significantDigits: 10,
    rmsFields: ['rms', 'max'],
    tags: [
      { tag: 0, name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms', unit: 'mm/s', windowMs: 1000, expectedSamples: 10, deadband: null, resolvedDeadband: null, heartbeatMs: null },
      { tag: 1, name: 'Temp01', nodeId: 'ns=3;s=Line1.Temp01', mode: 'deadband', unit: '°C', windowMs: null, expectedSamples: null, deadband: { kind: 'percent', percent: 0.5, rangeMin: 0, rangeMax: 200 }, resolvedDeadband: 1, heartbeatMs: 60_000 },
      { tag: 2, name: 'Running', nodeId: 'ns=3;s=Line1.Running', mode: 'change', unit: null, windowMs: null, expectedSamples: null, deadband: null, resolvedDeadband: null, heartbeatMs: null },
    ],
  });
});

test('10,000 tags split into parts under the limit that together list every tag once, in order', () => {
  const tags: MappingTag[] = Array.from({ length: 10_000 }, (_, i) => ({ name: `Line${i % 7}.Sensor${i}`, nodeId: `ns=3;s=Plant.Area${i % 20}.Line${i % 7}.Sensor${i}`, mode: 'rms', windowMs: 1000, unit: 'mm/s' }));
  const parts = buildMappingMessages(base(tags), AT, 131_072);
  assert.ok(parts.length > 5);
  let next = 0;
  for (const p of parts) {
    assert.ok(p.payload.length <= 131_072, `part ${p.part}: ${p.payload.length}`);
    const m = JSON.parse(p.payload.toString()) as { part: number; parts: number; firstTag: number; tagCount: number; tags: { tag: number; name: string }[] };
    assert.deepEqual([m.part, m.parts, m.firstTag, m.tagCount], [p.part, parts.length, next, 10_000]);
    for (const t of m.tags) assert.equal(t.tag, next++);
  }
  assert.equal(next, 10_000);
});

test('parts topics; a tag too large for any part is a configuration error', () => {
  assert.equal(mappingPartTopic('conduit/gw-1/mapping', 3), 'conduit/gw-1/mapping/3');
  assert.throws(() => mappingPartTopic('a/b/c/d/e/f/g/h', 0), PublishConfigError);
  assert.throws(() => buildMappingMessages(base([{ name: 'x'.repeat(2000), nodeId: 'n', mode: 'change' }]), AT, 1024), /tag 0/);
  assert.throws(() => buildMappingMessages(base([{ name: 'x', nodeId: 'n', mode: 'avg' as 'rms' }]), AT, 1024), PublishConfigError);
});

test('no tags: one part with an empty list', () => {
  const parts = buildMappingMessages(base([]), AT, 1024);
  assert.deepEqual(parts.map((p) => [p.part, p.parts, p.tagsInPart]), [[0, 1, 0]]);
  assert.deepEqual((JSON.parse(parts[0]!.payload.toString()) as { tags: unknown[] }).tags, []);
});
