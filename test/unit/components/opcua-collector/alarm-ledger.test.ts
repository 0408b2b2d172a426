import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlarmLedger, LEDGER_VERSION, parseLedger, type OpenAlarm } from '../../../../components/opcua-collector/src/alarm-ledger';
import { ALARM_LEDGER_FILE, AlarmLedgerFile } from '../../../../components/opcua-collector/src/alarm-ledger-file';
import { buildCaptureLostMessage, buildCloseMessage } from '../../../../components/opcua-collector/src/alarm-message';
import { closeLeftOpen } from '../../../../components/opcua-collector/src/alarm-closes';
import { CapturedLog } from '../../../harness/captured-log';

const alarm = (id: string, runId = 'run-1', captureId: string | null = `${runId}-c1`): OpenAlarm => ({
  alarmId: id,
  runId,
  mappingVersion: 'm-1',
  tag: 'Line1.Vib01',
  nodeId: 'ns=1;s=Line1.Vib01',
  unit: 'mm/s',
  on: 'rms',
  raiseAt: 5,
  clearBelow: 3,
  minDurationMs: 2000,
  raisedAt: 1_000,
  captureId,
});
const capture = (captureId: string, runId = 'run-1') => ({ captureId, runId, mappingVersion: 'm-1', tag: 'Line1.Vib01', nodeId: 'ns=1;s=Line1.Vib01' });

test('an alarm stays in the ledger until the event closing it is published, not merely queued', () => {
  const l = new AlarmLedger();
  l.raised(alarm('run-1-a1'), capture('run-1-c1'));
  l.closing('run-1-a1', 3);
  assert.equal(l.snapshot().alarms.length, 1, 'queued is not published');
  l.published(2);
  assert.equal(l.snapshot().alarms.length, 1, 'another event');
  l.published(3);
  assert.deepEqual(l.snapshot().alarms, []);
  assert.equal(l.snapshot().captures.length, 1, 'its capture waits for the sink');
});

test('a capture leaves once every record is settled; one still recording or waiting stays', () => {
  const l = new AlarmLedger();
  l.raised(alarm('run-1-a1'), capture('run-1-c1'));
  l.raised(alarm('run-1-a2'), capture('run-1-c1')); // merged into the same capture
  assert.deepEqual(l.capture('run-1-c1')!.alarmIds, ['run-1-a1', 'run-1-a2']);
  const before = l.revision;
  l.settled(['unknown/1']);
  assert.equal(l.revision, before, 'nothing changed, nothing to write');
  l.handedOver('run-1-c1', ['run-1-c1/1', 'run-1-c1/2']);
  l.settled(['run-1-c1/1']);
  assert.deepEqual(l.capture('run-1-c1')!.unacked, ['run-1-c1/2']);
  l.settled(['run-1-c1/2']);
  assert.equal(l.capture('run-1-c1'), undefined);
  assert.deepEqual(l.counts(), { alarms: 2, captures: 0, unackedRecords: 0 });
});

test('what a previous run left is told apart from this run\'s own, and a close queued by the dead run is redone', () => {
  const old = new AlarmLedger();
  old.raised(alarm('old-a1', 'old'), capture('old-c1', 'old'));
  old.raised(alarm('old-a2', 'old', null));
  old.closing('old-a2', 7); // queued, never published: the process died
  old.raised(alarm('old-a3', 'old'), capture('old-c3', 'old'));
  old.closing('old-a3', 8);
  old.published(8); // the clear went out; the capture was still waiting for the sink
  old.handedOver('old-c3', ['old-c3/1']);
  const inherited = parseLedger(JSON.parse(JSON.stringify(old.snapshot())));
  const l = new AlarmLedger(inherited);
  l.raised(alarm('new-a1', 'new'), capture('new-c1', 'new'));
  const left = l.leftOpenBy('new');
  assert.deepEqual(left.alarms.map((a) => a.alarmId), ['old-a1', 'old-a2']);
  assert.deepEqual(left.captures.map((c) => c.captureId), ['old-c1', 'old-c3']);
  assert.deepEqual(l.openAlarmsOf('new').map((a) => a.alarmId), ['new-a1']);
  l.closing('old-a1', 0);
  l.captureClosing('old-c1', 0);
  l.published(0);
  assert.equal(l.capture('old-c1'), undefined);
  assert.deepEqual(l.leftOpenBy('new').alarms.map((a) => a.alarmId), ['old-a2']);
});

test('the file format is versioned: another version or a torn file is refused, with what is wrong', () => {
  assert.throws(() => parseLedger({ v: 2, alarms: [], captures: [] }), /version 2, this collector reads version 1/);
  assert.throws(() => parseLedger({ v: LEDGER_VERSION, alarms: [{}], captures: [] }), /alarm lacks/);
  assert.throws(() => parseLedger(null), /not a JSON object/);
});

test('the ledger file is written atomically and only when the ledger changed; an unreadable one is ignored with a warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  try {
    const log = new CapturedLog();
    const file = AlarmLedgerFile.inWorkDir(dir, log);
    assert.equal(file.load(), undefined, 'no file: nothing inherited');
    const l = new AlarmLedger();
    l.raised(alarm('run-1-a1'), capture('run-1-c1'));
    file.save(l);
    assert.deepEqual(readdirSync(dir), [ALARM_LEDGER_FILE], 'no temporary file left');
    const text = readFileSync(join(dir, ALARM_LEDGER_FILE), 'utf8');
    assert.deepEqual(file.load(), l.snapshot());
    writeFileSync(join(dir, ALARM_LEDGER_FILE), text.slice(0, 20));
    file.save(l); // unchanged: not rewritten
    assert.equal(readFileSync(join(dir, ALARM_LEDGER_FILE), 'utf8'), text.slice(0, 20));
    assert.equal(file.load(), undefined);
    assert.ok(log.lines.some((x) => x.level === 'warn' && /ignored an open-alarm ledger/.test(String(x.msg))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close messages: reason, the raising run, captureLost only for restart and null without a capture', () => {
  const ctx = { thingName: 'gw', site: 's', area: 'a', runId: 'new', seq: 4, atMs: 5_000, reason: 'restart' as const };
  const m = buildCloseMessage(alarm('old-a1', 'old'), ctx, true);
  assert.deepEqual(
    [m.event, m.reason, m.runId, m.raisedRunId, m.seq, m.captureLost, m.value, m.peak, m.durationMs, m.mappingVersion],
    ['clear', 'restart', 'new', 'old', 4, true, null, null, 4_000, 'm-1'],
  );
  assert.equal(buildCloseMessage(alarm('old-a2', 'old', null), ctx).captureLost, null);
  assert.equal('captureLost' in buildCloseMessage(alarm('a', 'new'), { ...ctx, reason: 'stop' }), false);
  const l = new AlarmLedger();
  l.raised(alarm('old-a3', 'old'), capture('old-c3', 'old'));
  l.handedOver('old-c3', ['old-c3/1', 'old-c3/2']);
  l.settled(['old-c3/1']);
  const lost = buildCaptureLostMessage(l.capture('old-c3')!, ctx);
  assert.deepEqual([lost.event, lost.reason, lost.alarmIds, lost.recordsUnacknowledged], ['captureLost', 'restart', ['old-a3'], ['old-c3/2']]);
});

test('closeLeftOpen: one close per alarm saying whether its capture is lost, a captureLost event for a capture whose alarm was already closed, nothing for a capture found on disk', () => {
  const old = new AlarmLedger();
  old.raised(alarm('old-a1', 'old'), capture('old-c1', 'old')); // still recording at the kill
  old.raised(alarm('old-a2', 'old', 'old-c2'), capture('old-c2', 'old')); // finished, waiting for the sink, on disk
  old.handedOver('old-c2', ['old-c2/1']);
  old.raised(alarm('old-a3', 'old', 'old-c3'), capture('old-c3', 'old')); // cleared, capture waiting, not on disk
  old.handedOver('old-c3', ['old-c3/1']);
  old.closing('old-a3', 5);
  old.published(5);
  const l = new AlarmLedger(parseLedger(JSON.parse(JSON.stringify(old.snapshot()))));
  const events: Record<string, unknown>[] = [];
  let seq = 0;
  const queue = (build: (ctx: any) => Record<string, unknown>, reason: string) => {
    events.push(build({ thingName: 'gw', site: 's', area: 'a', runId: 'new', seq, atMs: 9_000, reason }));
    return seq++;
  };
  const summary = closeLeftOpen(l, 'new', new Set(['old-c2/1']), queue);
  assert.deepEqual(summary, { alarms: ['old-a1', 'old-a2'], lostCaptures: ['old-c1', 'old-c3'], recoveredCaptures: ['old-c2'] });
  assert.deepEqual(
    events.map((e) => [e.event, e.alarmId ?? e.captureId, e.captureLost, e.seq]),
    [
      ['clear', 'old-a1', true, 0],
      ['clear', 'old-a2', false, 1],
      ['captureLost', 'old-c3', undefined, 2],
    ],
  );
  for (const s of [0, 1, 2]) l.published(s);
  assert.deepEqual(l.snapshot().alarms, []);
  assert.deepEqual(l.snapshot().captures.map((c) => c.captureId), ['old-c2'], 'the recovered capture waits for the sink');
  l.settled(['old-c2/1']);
  assert.equal(l.empty, true);
  assert.equal(closeLeftOpen(l, 'new', new Set(), queue), undefined, 'nothing left: nothing published');
  assert.equal(events.length, 3);
});

test('closeLeftOpen: a capture written to disk by a run killed before its ledger said so is not lost, and leaves once the sink has it', () => {
  const old = new AlarmLedger();
  old.raised(alarm('old-a1', 'old', 'old-c1'), capture('old-c1', 'old')); // the spill was written, the ledger not yet saved
  const l = new AlarmLedger(parseLedger(JSON.parse(JSON.stringify(old.snapshot()))));
  const events: Record<string, unknown>[] = [];
  let seq = 0;
  const queue = (build: (ctx: any) => Record<string, unknown>, reason: string) => {
    events.push(build({ thingName: 'gw', site: 's', area: 'a', runId: 'new', seq, atMs: 9_000, reason }));
    return seq++;
  };
  const summary = closeLeftOpen(l, 'new', new Set(['old-c1/1', 'old-c1/2']), queue);
  assert.deepEqual(summary, { alarms: ['old-a1'], lostCaptures: [], recoveredCaptures: ['old-c1'] });
  assert.deepEqual(events.map((e) => [e.event, e.alarmId, e.captureLost]), [['clear', 'old-a1', false]]);
  l.published(0);
  assert.deepEqual(l.capture('old-c1')!.unacked, ['old-c1/1', 'old-c1/2'], 'owed to the sink, as handed over again');
  l.settled(['old-c1/1', 'old-c1/2']);
  assert.equal(l.empty, true, 'nothing left for a later run to call lost');
});
