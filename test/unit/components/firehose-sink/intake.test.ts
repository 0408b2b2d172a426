// SinkIntake: one ack per put message, after the records are in the spool; rejected records named
// with their reasons and logged at ERROR; duplicates acknowledged without being stored again; a
// malformed message counted and ignored; nothing acknowledged that the spool could not write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAck, encodePut, type AckMessage } from '../../../../shared/handoff/protocol';
import { FirehoseSpool } from '../../../../components/firehose-sink/src/spool';
import { SinkIntake } from '../../../../components/firehose-sink/src/intake';
import { SpoolWriteError } from '../../../../components/firehose-sink/src/errors';
import { CapturedLog, rec, tempDir } from './helpers';

const ACK = 'conduit/firehose-sink/ack';

function setup(t: { after(fn: () => void): void }, spoolOverride?: { append: FirehoseSpool['append'] }) {
  const { dir, remove } = tempDir();
  const log = new CapturedLog();
  const spool = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: log });
  t.after(() => {
    spool.close();
    remove();
  });
  const acks: AckMessage[] = [];
  let ackFault: { retryable: boolean; reason: string } | undefined;
  const pubsub = {
    publishToTopic: async (topic: string, payload: Buffer) => {
      assert.equal(topic, ACK);
      if (ackFault) throw ackFault;
      const d = decodeAck(payload);
      assert.ok(d.ok);
      acks.push(d.message);
    },
  };
  const intake = new SinkIntake({ spool: spoolOverride ?? spool, pubsub, ackTopic: ACK, logger: log, now: () => 1000 });
  return { spool, intake, acks, log, failAcks: (f: typeof ackFault) => (ackFault = f) };
}

const settle = () => new Promise((r) => setImmediate(r));

test('good records are spooled and acknowledged in one ack; bad ones rejected with reasons, at ERROR', async (t) => {
  const { spool, intake, acks, log } = setup(t);
  const records = [rec('ok-1'), { id: 'two-lines', data: 'a\nb' }, { id: '', data: 'x' }, rec('ok-2'), { id: 'not-text', data: 5 }] as never;
  intake.onMessage(encodePut('com.example.Producer', records));
  await settle();
  assert.equal(acks.length, 1);
  assert.deepEqual(acks[0]!.stored, ['ok-1', 'ok-2']);
  assert.deepEqual(acks[0]!.rejected.map((r) => r.id), ['two-lines', '', 'not-text']);
  assert.match(acks[0]!.rejected[0]!.reason, /one line/);
  assert.equal(acks[0]!.producer, 'com.example.Producer');
  assert.deepEqual([...spool.unclaimed()].map((e) => e.id), ['ok-1', 'ok-2']);
  const errors = log.at('error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg, /rejected records \(data lost\)/);
  assert.ok(!JSON.stringify(errors[0]!.fields).includes('a\\nb'), 'record data is not logged');
  assert.deepEqual(intake.counters(), { messages: 1, malformed: 0, received: 5, rejected: 3, notStored: 0, ackFailures: 0 });
});

test('a re-sent id is acknowledged again but stored once', async (t) => {
  const { spool, intake, acks } = setup(t);
  intake.onMessage(encodePut('p', [rec('dup')]));
  intake.onMessage(encodePut('p', [rec('dup'), rec('new')]));
  await settle();
  assert.deepEqual(acks.map((a) => a.stored), [['dup'], ['dup', 'new']]);
  assert.deepEqual([...spool.unclaimed()].map((e) => e.id), ['dup', 'new']);
  assert.equal(spool.counters().duplicates, 1);
});

test('a malformed message is counted and logged, and nothing is acknowledged', async (t) => {
  const { intake, acks, log } = setup(t);
  intake.onMessage(Buffer.from('not json'));
  intake.onMessage(Buffer.from(JSON.stringify({ v: 9, type: 'put', producer: 'p', records: [] })));
  await settle();
  assert.equal(acks.length, 0);
  assert.equal(intake.counters().malformed, 2);
  assert.equal(log.at('warn').length, 2);
});

test('records the spool cannot write are not acknowledged (the producer keeps them); rejected ones still are', async (t) => {
  const failing = {
    append: () => {
      throw new SpoolWriteError('cannot write the spool in /x: ENOSPC');
    },
  };
  const { intake, acks, log } = setup(t, failing);
  intake.onMessage(encodePut('p', [rec('a'), { id: 'bad', data: 'x\ny' }]));
  await settle();
  assert.deepEqual(acks, [{ v: 1, type: 'ack', producer: 'p', stored: [], rejected: [{ id: 'bad', reason: acks[0]!.rejected[0]!.reason }] }]);
  assert.equal(intake.counters().notStored, 1);
  assert.ok(log.at('error').some((l) => /not acknowledged/.test(l.msg) && /free disk space/.test(String(l.fields.fix))));
});

test('an ack the nucleus cannot take is counted; after stop nothing more is taken', async (t) => {
  const { intake, acks, failAcks, spool } = setup(t);
  failAcks({ retryable: true, reason: 'not connected to the Greengrass nucleus' });
  intake.onMessage(encodePut('p', [rec('a')]));
  await intake.stop();
  assert.equal(intake.counters().ackFailures, 1);
  failAcks(undefined);
  intake.onMessage(encodePut('p', [rec('b')]));
  await settle();
  assert.equal(acks.length, 0);
  assert.deepEqual([...spool.unclaimed()].map((e) => e.id), ['a']);
});
