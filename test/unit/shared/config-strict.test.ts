// Strict parsing, one rule for both components: no type coercion, own keys only, finite numbers,
// well-formed and bounded text, a bounded tag count, and many similar problems summarized. Each case
// runs against both parsers where the key exists in both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../components/opcua-collector/src/config';
import { COLLECTOR_CONFIG_SCHEMA, MAX_TAGS } from '../../../components/opcua-collector/src/config-schema';
import { parseSinkConfig } from '../../../components/firehose-sink/src/config';
import { SINK_CONFIG_SCHEMA } from '../../../components/firehose-sink/src/config-schema';
import { ConfigError, LISTED_ISSUES, issuesForLog, summarizeIssues, validityReport, type ConfigIssue } from '../../../shared/config-error';
import { MAX_DEPTH, MAX_STRING_CHARS, strictCopy } from '../../../shared/config-strict';
import { BASE_CONFIG } from '../components/opcua-collector/config-fixture';

const collector = (): Record<string, any> => ({
  ...structuredClone(BASE_CONFIG),
  tags: [
    { name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms' },
    { name: 'Temp01', nodeId: 'ns=3;i=1002', mode: 'deadband', deadband: { absolute: 0.5 } },
  ],
});
const sink = (): Record<string, any> => ({ deliveryStreamName: 'conduit-bursts', region: 'eu-central-1' });

function issuesOf(parse: (raw: unknown) => unknown, raw: unknown): ConfigIssue[] {
  try {
    parse(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  assert.fail('expected the configuration to be rejected');
}
const parsers = [
  { name: 'collector', parse: (raw: unknown) => parseCollectorConfig(raw), base: collector },
  { name: 'sink', parse: (raw: unknown) => parseSinkConfig(raw, { defaultRegion: 'eu-central-1' }), base: sink },
];

test('a __proto__ key is refused as unknown at any depth, and never becomes a prototype', () => {
  // JSON.parse makes an own "__proto__" key, as a deployment document read from JSON would have it.
  const collectorRaw = JSON.parse(JSON.stringify(collector()).replace(/^\{/, '{"__proto__":{"allowInsecure":true},'));
  assert.ok(Object.keys(collectorRaw).includes('__proto__'));
  const issues = issuesOf(parsers[0]!.parse, collectorRaw);
  assert.deepEqual(
    issues.map((i) => i.path),
    ['/__proto__'],
  );
  assert.match(issues[0]!.message, /not a known key/);
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    const nested = JSON.parse(`{"deliveryStreamName":"s","send":{"${key}":{"lingerMs":5}}}`);
    assert.deepEqual(
      issuesOf(parsers[1]!.parse, nested).map((i) => i.path),
      [`/send/${key}`],
      key,
    );
    const inTag = collector();
    inTag.tags[1] = JSON.parse(`{"name":"Temp01","nodeId":"ns=3;i=1002","mode":"deadband","deadband":{"absolute":0.5,"${key}":{"percent":1}}}`);
    assert.deepEqual(
      issuesOf(parsers[0]!.parse, inTag).map((i) => i.path),
      [`/tags/1/deadband/${key}`],
      key,
    );
  }
});

test('the copy never touches a prototype: an own __proto__ key is left out, not assigned', () => {
  const raw = JSON.parse('{"a":1,"__proto__":{"polluted":true},"b":{"__proto__":{"x":1}}}');
  const { doc, issues } = strictCopy(raw, 'docs/x.md');
  assert.equal(Object.getPrototypeOf(doc), Object.prototype);
  assert.equal((doc as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(doc.b), Object.prototype);
  assert.deepEqual(doc, { a: 1, b: {} });
  assert.deepEqual(
    issues.map((i) => i.path),
    ['/__proto__', '/b/__proto__'],
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
});

test('non-finite numbers are refused (JSON 1e999 is Infinity), as are "Infinity" and other numbers in quotes', () => {
  for (const v of [JSON.parse('1e999'), -Infinity, NaN, 'Infinity', '-Infinity', '1e999', '100']) {
    const c = collector();
    c.sampling = { maxNotificationsPerPublish: v };
    const issues = issuesOf(parsers[0]!.parse, c);
    assert.deepEqual(issues.map((i) => i.path), ['/sampling/maxNotificationsPerPublish'], String(v));
    const s = sink();
    s.send = { lingerMs: v };
    assert.deepEqual(issuesOf(parsers[1]!.parse, s).map((i) => i.path), ['/send/lingerMs'], String(v));
  }
});

test('booleans are JSON booleans and text is text', () => {
  for (const v of [1, 0, 'true', 'false', 'yes']) {
    const c = collector();
    c.allowInsecure = v;
    assert.deepEqual(issuesOf(parsers[0]!.parse, c).map((i) => i.path), ['/allowInsecure'], String(v));
  }
  for (const { name, parse, base } of parsers) {
    const topicKey = name === 'collector' ? 'publish' : 'metrics';
    for (const v of [true, 1, ['a/b'], { t: 'x' }]) {
      const raw = base();
      raw[topicKey] = { topic: v };
      assert.deepEqual(issuesOf(parse, raw).map((i) => i.path), [`/${topicKey}/topic`], `${name} ${JSON.stringify(v)}`);
    }
  }
});

test('a lone surrogate and over-long text are refused before any pattern runs', () => {
  for (const { name, parse, base } of parsers) {
    const key = name === 'collector' ? 'publish' : 'metrics';
    for (const v of ['conduit/\ud800/t', 'conduit/\udc00', 'x'.repeat(100_000), 'conduit/' + 'y'.repeat(300)]) {
      const raw = base();
      raw[key] = { topic: v };
      const issues = issuesOf(parse, raw);
      assert.deepEqual(issues.map((i) => i.path), [`/${key}/topic`], `${name} ${v.slice(0, 12)}`);
    }
  }
  // Well-formed astral characters (a surrogate pair) are text like any other.
  const { issues } = strictCopy({ unit: '\u{1F600}' }, 'docs');
  assert.deepEqual(issues, []);
  assert.equal(strictCopy({ s: 'z'.repeat(MAX_STRING_CHARS + 1) }, 'docs').issues.length, 1);
});

test('deep nesting is refused with a bounded walk', () => {
  let deep: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < 10_000; i++) deep = { d: deep };
  const { issues } = strictCopy({ x: deep }, 'docs/x.md');
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, new RegExp(`more than ${MAX_DEPTH} levels`));
  for (const { parse, base } of parsers) {
    const raw = base();
    raw.accessControl = deep;
    assert.equal(issuesOf(parse, raw).length, 1);
  }
});

test('arrays where objects belong, and objects where lists belong, are refused naming the field', () => {
  const c = collector();
  c.sampling = [100];
  c.tags = { 0: c.tags[0] };
  assert.deepEqual(issuesOf(parsers[0]!.parse, c).map((i) => i.path), ['/sampling', '/tags']);
  const s = sink();
  s.spool = [1];
  assert.deepEqual(issuesOf(parsers[1]!.parse, s).map((i) => i.path), ['/spool']);
});

test(`more than ${MAX_TAGS} tags is REJECTED with the reason and what to do`, () => {
  const c = collector();
  c.tags = Array.from({ length: MAX_TAGS + 1 }, (_, i) => ({ name: `T${i}`, nodeId: `ns=2;i=${i + 1}`, mode: 'change' }));
  const issues = issuesOf(parsers[0]!.parse, c);
  assert.deepEqual(issues.map((i) => i.path), ['/tags']);
  assert.equal(issues[0]!.message, `has ${MAX_TAGS + 1} entries, more than the ${MAX_TAGS} allowed`);
  assert.match(issues[0]!.fix, /split the plant across gateways/);
  assert.match(issues[0]!.fix, /docs\/deployment\.md/);
  c.tags.pop();
  assert.equal(parseCollectorConfig(c).tags.length, MAX_TAGS);
});

/** Every string, list and number of a schema has a bound (accessControl is the nucleus's). */
function unbounded(node: any, path: string): string[] {
  const out: string[] = [];
  if (node.type === 'string' && node.enum === undefined && node.maxLength === undefined && node.pattern === undefined) out.push(`${path}: string without maxLength`);
  if (node.type === 'string' && node.enum === undefined && node.maxLength === undefined && node.pattern !== undefined && !/\{\d*,\d+\}\$$/.test(node.pattern)) {
    out.push(`${path}: string whose pattern does not bound its length`);
  }
  if (node.type === 'array' && node.maxItems === undefined) out.push(`${path}: list without maxItems`);
  if ((node.type === 'number' || node.type === 'integer') && node.enum === undefined) {
    if (node.minimum === undefined && node.exclusiveMinimum === undefined) out.push(`${path}: number without a minimum`);
    if (node.maximum === undefined && node.exclusiveMaximum === undefined) out.push(`${path}: number without a maximum`);
  }
  for (const [k, child] of Object.entries(node.properties ?? {})) if (k !== 'accessControl') out.push(...unbounded(child, `${path}.${k}`));
  if (node.items) out.push(...unbounded(node.items, `${path}[]`));
  return out;
}

test('every value of both schemas is bounded', () => {
  assert.deepEqual(unbounded(COLLECTOR_CONFIG_SCHEMA, 'collector'), []);
  assert.deepEqual(unbounded(SINK_CONFIG_SCHEMA, 'sink'), []);
});

test('thousands of similar problems give a few lines: counts by kind and the first places', () => {
  const c = collector();
  c.tags = Array.from({ length: 3_000 }, (_, i) => (i % 2 === 0 ? { name: `T${i}`, mode: 'change' } : { name: `T${i}`, nodeId: `ns=2;i=${i + 1}`, mode: 'rms', windowMs: -5 }));
  const issues = issuesOf(parsers[0]!.parse, c);
  assert.equal(issues.length, 3_000);
  const groups = summarizeIssues(issues);
  assert.deepEqual(
    groups.map((g) => [g.shape, g.count, g.examples]),
    [
      ['/tags/[]/nodeId', 1_500, ['/tags/0/nodeId', '/tags/2/nodeId', '/tags/4/nodeId']],
      ['/tags/[]/windowMs', 1_500, ['/tags/1/windowMs', '/tags/3/windowMs', '/tags/5/windowMs']],
    ],
  );
  const text = new ConfigError(issues, 'conduit.OpcUaCollector').message;
  assert.equal(text.split('\n').length, 3, text);
  assert.match(text, /^invalid conduit\.OpcUaCollector configuration: 3000 problems\n {2}1500 x \/tags\/\[\]\/nodeId: is required\. Fix: add nodeId/);
  const report = validityReport(issues);
  assert.ok(report.length < 2_000);
  assert.match(report, /^3000 problems \| 1500 x \/tags\/\[\]\/nodeId: is required/);
  const logged = issuesForLog(issues);
  assert.equal(logged.total, 3_000);
  assert.equal(logged.issues, undefined);
  assert.equal(logged.summary!.length, 2);
  // A few problems are still listed one by one.
  const few = issues.slice(0, LISTED_ISSUES);
  assert.deepEqual(issuesForLog(few).issues, few);
  assert.equal(validityReport(few).split(' | ').length, LISTED_ISSUES);
});

test('one topic rule for both components: Basic Ingest is accepted, control characters are not', () => {
  // The nucleus's IotCoreTopicValidator takes $aws/rules/<rule>/… and counts limits without the prefix.
  const c = collector();
  c.publish = { topic: '$aws/rules/conduit_telemetry/conduit/{thingName}/a/b/c/d/e/telemetry' };
  assert.equal(parseCollectorConfig(c).publish.topic, '$aws/rules/conduit_telemetry/conduit/{thingName}/a/b/c/d/e/telemetry');
  const s = sink();
  s.metrics = { topic: '$aws/rules/conduit_metrics/conduit/{thingName}/sink/metrics' };
  assert.equal(parseSinkConfig(s).metrics.topic, '$aws/rules/conduit_metrics/conduit/{thingName}/sink/metrics');
  for (const ch of ['\u0001', '\u001f', '\u007f', '\u0085']) {
    const bad = collector();
    bad.metrics = { topic: `conduit/{thingName}/met${ch}rics` };
    assert.deepEqual(issuesOf(parsers[0]!.parse, bad).map((i) => [i.path, i.message]), [['/metrics/topic', 'contains a control character']]);
    const badSink = sink();
    badSink.metrics = { topic: `conduit/{thingName}/met${ch}rics` };
    assert.deepEqual(issuesOf(parsers[1]!.parse, badSink).map((i) => [i.path, i.message]), [['/metrics/topic', 'contains a control character']]);
    const local = collector();
    local.burst = { sinkTopic: `conduit/firehose-sink/p${ch}ut` };
    assert.deepEqual(issuesOf(parsers[0]!.parse, local).map((i) => i.path), ['/burst/sinkTopic']);
    const localSink = sink();
    localSink.putTopic = `conduit/firehose-sink/p${ch}ut`;
    assert.deepEqual(issuesOf(parsers[1]!.parse, localSink).map((i) => i.path), ['/putTopic']);
  }
});
