import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandTopic, topicProblem } from '../../../../shared/publish/topics';
import { PublishConfigError } from '../../../../shared/publish/errors';

const V = { thingName: 'gw-1', site: 'plant-a', area: 'line-1' };

test('placeholders are replaced, every occurrence', () => {
  assert.equal(expandTopic('conduit/{site}/{area}/{thingName}/telemetry', V), 'conduit/plant-a/line-1/gw-1/telemetry');
  assert.equal(expandTopic('{thingName}/x/{thingName}', V), 'gw-1/x/gw-1');
  assert.equal(expandTopic('$aws/rules/conduit_ingest/{site}/{thingName}', V), '$aws/rules/conduit_ingest/plant-a/gw-1');
});

test('results IoT Core would refuse are configuration errors naming the field', () => {
  const bad: [string, Partial<typeof V>, RegExp][] = [
    ['conduit/+/{thingName}', {}, /wildcard/],
    ['conduit/#', {}, /wildcard/],
    ['conduit/{site}', { site: 'a+b' }, /cannot go into a topic/],
    ['conduit/{site}', { site: 'a/b' }, /cannot go into a topic/],
    ['conduit/{area}', { area: '' }, /cannot go into a topic/],
    ['/conduit/{site}', {}, /empty level/],
    ['conduit/{site}/', {}, /empty level/],
    ['conduit//{site}', {}, /empty level/],
    ['', {}, /is empty/],
    ['conduit/{thing}', {}, /unknown placeholder \{thing\}/],
    ['conduit/{site', {}, /unmatched/],
    ['$aws/things/{thingName}/shadow/update', {}, /reserved/],
    ['a/b/c/d/e/f/g/h/{site}', {}, /8 slashes, more than 7/],
    ['conduit/' + 'x'.repeat(250), {}, /more than 256/],
  ];
  for (const [template, over, why] of bad) {
    assert.throws(() => expandTopic(template, { ...V, ...over }, 'publish.mappingTopic'), (e: unknown) => {
      assert.ok(e instanceof PublishConfigError);
      assert.equal(e.field, 'publish.mappingTopic');
      assert.match(e.message, why, template);
      return true;
    });
  }
});

test('seven slashes are allowed, and the Basic Ingest prefix does not count', () => {
  assert.equal(topicProblem('a/b/c/d/e/f/g/h'), undefined);
  assert.equal(topicProblem('$aws/rules/r/a/b/c/d/e/f/g/h'), undefined);
  assert.match(topicProblem('$aws/rules/r/')!, /no topic after/);
  assert.match(topicProblem('é'.repeat(129))!, /258 bytes/);
});
