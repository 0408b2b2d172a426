// The shared start-up step: an invalid configuration is reported once and waited out; a failed
// read is retried; the first valid configuration is returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../shared/config-error';
import { ChangeSignal, startupConfig } from '../../../shared/edge/startup-config';
import { CapturedLog } from '../../harness/captured-log';

test('invalid, then a failed read, then valid: one problem, one recovery, the valid one returned', async () => {
  const answers: Array<() => unknown> = [
    () => ({ n: -1 }),
    () => {
      throw new Error('IPC call timed out');
    },
    () => ({ n: 3 }),
  ];
  let reads = 0;
  const problems: string[] = [];
  let recovered = 0;
  const signal = new ChangeSignal();
  const log = new CapturedLog();
  const got = startupConfig({
    read: async () => answers[reads++]!(),
    parse: (raw) => {
      const n = (raw as { n: number }).n;
      if (n < 0) throw new ConfigError([{ path: '/n', message: 'must be at least 0', fix: 'set it to 0 or more' }], 'test');
      return n;
    },
    nextChange: (ms) => (ms === undefined ? signal.wait() : Promise.resolve()),
    problem: (p) => void problems.push(p.kind),
    recovered: () => void recovered++,
    logger: log,
    docs: 'docs/x.md',
    describeReadError: (e) => String(e),
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(reads, 1, 'waits for a change after an invalid configuration');
  assert.deepEqual(problems, ['config']);
  signal.notify();
  assert.equal(await got, 3);
  assert.equal(reads, 3);
  assert.equal(recovered, 1);
  assert.equal(log.at('error').length, 1);
  assert.deepEqual((log.at('error')[0]!.fields.issues as { path: string }[]).map((i) => i.path), ['/n']);
  assert.equal(log.at('warn').filter((l) => /cannot read the configuration/.test(l.msg)).length, 1);
});

test('a ChangeSignal wait ends at the next notify or at its timeout', async () => {
  const s = new ChangeSignal();
  let done = 0;
  void s.wait().then(() => done++);
  void s.wait(10).then(() => done++);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(done, 1, 'the timed one');
  s.notify();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, 2);
});
