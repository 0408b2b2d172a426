// conduit.FirehoseSink on a spool disk that is full, read-only or in the way: the built artifact,
// launched from its recipe by the local Greengrass (which restarts a component on ERRORED and marks it
// BROKEN at the third, as the nucleus does), fed by a real aws-iot-device-sdk-v2 producer that keeps
// and re-sends what is not acknowledged. The spool lives where the product puts it, <work>/spool; a
// small tmpfs mounted there (before the deploy) is the disk that fills up or turns read-only. Needs
// root for mount; skipped with the reason where mounting is not permitted.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildSink, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import type { LifecycleState } from '../harness/contracts';
import { SinkProducer, sleep, until } from './sink-producer';

const THING = 'gw-spool';
const STREAM = 'conduit-spool-e2e';
const SINK = 'conduit.FirehoseSink';
const METRICS = `conduit/${THING}/sink/metrics`;
const T = { timeout: 150_000 };

let built: BuiltFixture;

before(async () => {
  built = await buildSink();
});

after(() => {
  if (built) rmSync(built.outDir, { recursive: true, force: true });
});

const logLine = (msg: string) => (l: { text: string }) => l.text.includes(`"msg":"${msg}`);

function metrics(gg: LocalGreengrass): Record<string, any>[] {
  return gg.iotCore.filter((r) => r.topicName === METRICS).map((r) => JSON.parse(r.payload.toString()));
}

/** Ids of every line the local Firehose accepted, and the lines by id (to compare duplicates). */
function delivered(gg: LocalGreengrass): Map<string, Set<string>> {
  const byId = new Map<string, Set<string>>();
  for (const r of gg.aws.firehose.entries(STREAM)) {
    for (const line of r.data.toString('utf8').slice(0, -1).split('\n')) {
      const id = JSON.parse(line).id as string;
      byId.set(id, (byId.get(id) ?? new Set()).add(line));
    }
  }
  return byId;
}

/** mount(8) as root; undefined on success, else why it cannot (for the skip message). */
function tryMount(args: string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs as root)';
  try {
    execFileSync('mount', args, { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount ${args.join(' ')} is not permitted here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
}

const mountCmd = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });

/** Fills the filesystem of `dir` with a ballast file until a write fails with ENOSPC. */
function fill(dir: string, name = 'ballast'): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // A block may have been half used: fill the rest byte by byte in small steps.
  const small = openSync(path, 'a');
  try {
    for (let i = 0; i < 4096; i++) writeSync(small, Buffer.from('b'));
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(small);
  }
  return path;
}

interface Rig {
  gg: LocalGreengrass;
  spoolDir: string;
  c: LaunchedComponent;
  producer: SinkProducer;
}

/**
 * A local core whose sink's spool folder is a fresh tmpfs of `size` (prepared by `prepare` before the
 * deploy), the sink deployed and RUNNING, and a producer connected. Stops the sink before unmounting
 * and always unmounts.
 */
async function withSpoolDisk(t: TestContext, opts: { size?: string; prepare?: (spoolDir: string) => void; mount?: boolean }, fn: (r: Rig) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  const spoolDir = join(gg.root, 'work', SINK, 'spool');
  let mounted = false;
  let producer: SinkProducer | undefined;
  let c: LaunchedComponent | undefined;
  try {
    mkdirSync(spoolDir, { recursive: true });
    if (opts.mount !== false) {
      const why = tryMount(['-t', 'tmpfs', '-o', `size=${opts.size ?? '2m'}`, 'tmpfs', spoolDir]);
      if (why) return t.skip(why);
      mounted = true;
    }
    opts.prepare?.(spoolDir);
    gg.aws.firehose.createDeliveryStream(STREAM);
    c = await gg.deploy({
      recipePath: built.recipePath,
      artifactDir: built.artifactDir,
      configurationUpdate: { merge: { deliveryStreamName: STREAM, metrics: { intervalSec: 1 }, send: { lingerMs: 100, initialBackoffMs: 50, maxBackoffMs: 500 } } },
    });
    await c.waitForOutput(logLine('running'), 20_000);
    producer = await SinkProducer.connect(gg);
    await fn({ gg, spoolDir, c, producer });
  } finally {
    await producer?.close();
    // The sink holds files in the spool: stop it before the disk goes away.
    await c?.stop().catch(() => undefined);
    if (mounted) {
      try {
        execFileSync('umount', [spoolDir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', spoolDir], { stdio: 'pipe' });
      }
    }
    await gg.close();
  }
}

/** States the component passes through from now on. */
function watchStates(c: LaunchedComponent): LifecycleState[] {
  const seen: LifecycleState[] = [];
  c.on('state', (s: LifecycleState) => seen.push(s));
  return seen;
}

/**
 * The sink has reported the problem as ERRORED once (the core restarted it, as the nucleus does) and
 * the restarted process stays RUNNING with the same problem, not reporting ERRORED again within the
 * hour: never BROKEN. Returns the running pid.
 */
async function restartedOnceAndRunning(c: LaunchedComponent, gg: LocalGreengrass, problem: string, from: number): Promise<number> {
  const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 20_000, from);
  assert.match(reporting.text, new RegExp(`"problem":"${problem}"`));
  await until('the restarted sink, RUNNING with the problem', 30_000, () => c.errorCount === 1 && c.state === 'RUNNING' && c.output.slice(from).some(logLine('the component needs an operator; it stays RUNNING')));
  await until(`metrics naming ${problem}`, 10_000, () => metrics(gg).at(-1)?.problem === problem);
  return c.pid!;
}

test('a spool disk that fills up while the sink runs: ERRORED once (the core restarts it), then RUNNING in one process that acknowledges nothing it cannot store; once space is freed everything arrives, no restart needed, never BROKEN', T, (t) =>
  withSpoolDisk(t, { size: '2m' }, async ({ gg, spoolDir, c, producer }) => {
    producer.produce('full', { everyMs: 200, perTick: 5, bytes: 1000 });
    await until('records delivered while the disk has room', 20_000, () => delivered(gg).size >= 20);
    const from = c.output.length;
    const ballast = fill(spoolDir);
    const pid = await restartedOnceAndRunning(c, gg, 'spool:ENOSPC', from);
    // The restarted sink delivers what its predecessor left and deletes those segments, which gives
    // room back (and it stores into it: the disk is not full for it then). Once only the segment being
    // written is left, nothing more frees room: fill what was freed.
    await until('the spool drained to the segment being written', 30_000, () => {
      const m = metrics(gg).at(-1);
      return m !== undefined && m.spool.records === 0 && m.spool.segments <= 1;
    });
    const ballast2 = fill(spoolDir, 'ballast-2');
    await until('metrics naming the full disk', 10_000, () => metrics(gg).at(-1)?.problem === 'spool:ENOSPC' && metrics(gg).at(-1)?.notStored > 0);
    await sleep(1_000); // acks already on their way arrive

    // The disk stays full for a while: the sink keeps running in the same process, acknowledges
    // nothing new, and says why in every metrics message.
    const states = watchStates(c);
    const ackedBefore = producer.acked.size;
    const metricsFrom = metrics(gg).length;
    await sleep(4_000);
    assert.equal(producer.acked.size, ackedBefore, 'nothing acknowledged while the disk is full: the producer holds it');
    assert.ok(producer.holding.length > 0, 'the producer holds records');
    const during = metrics(gg).slice(metricsFrom);
    assert.ok(during.length >= 2 && during.every((m) => m.problem === 'spool:ENOSPC'), 'every metrics message names the disk');
    assert.ok(during.at(-1)!.notStored > 0);
    assert.deepEqual([c.pid, c.state, c.errorCount], [pid, 'RUNNING', 1]);

    // Space freed: everything held is stored, acknowledged and delivered by the same process.
    rmSync(ballast);
    rmSync(ballast2);
    await c.waitForOutput(logLine('the spool stores records again'), 30_000, from);
    await producer.stopNew();
    await producer.drain(30_000);
    await until('every record in Firehose', 30_000, () => producer.sent.every((r) => delivered(gg).has(r.id)));
    const got = delivered(gg);
    assert.deepEqual([...got.keys()].sort(), producer.sent.map((r) => r.id).sort(), 'every record put arrived, and nothing else');
    for (const [id, lines] of got) assert.equal(lines.size, 1, `${id}: every copy is the same record`);
    await until('metrics without the problem', 10_000, () => metrics(gg).at(-1)?.problem === null);
    assert.deepEqual(states, [], 'RUNNING throughout: no restart, no ERRORED after the first report');
    assert.deepEqual([c.pid, c.state, c.errorCount], [pid, 'RUNNING', 1], 'the same process, never BROKEN');
    assert.deepEqual(metrics(gg).at(-1)!.lost, { evicted: 0, rejected: 0, corruptBytes: 0 });
  }),
);

test('a spool disk that is read-only at start: ERRORED once, then RUNNING without a spool, accepting nothing; remounted read-write, the same process opens the spool and delivers everything', T, (t) =>
  withSpoolDisk(t, { size: '4m', prepare: (dir) => mountCmd('-o', 'remount,ro', dir) }, async ({ gg, spoolDir, c, producer }) => {
    const pid = await restartedOnceAndRunning(c, gg, 'spool:EROFS', 0);
    assert.ok(c.output.some(logLine('cannot open the spool: the sink stays RUNNING without one')));
    const states = watchStates(c);
    producer.produce('ro', { everyMs: 300, perTick: 5, bytes: 800 });
    await sleep(3_000);
    assert.equal(producer.acked.size, 0, 'nothing acknowledged without a spool');
    assert.ok(metrics(gg).at(-1)!.notStored > 0);

    mountCmd('-o', 'remount,rw', spoolDir);
    await c.waitForOutput(logLine('spool opened; records not yet delivered are sent first'), 30_000);
    await producer.stopNew();
    await producer.drain(30_000);
    await until('every record in Firehose', 30_000, () => producer.sent.every((r) => delivered(gg).has(r.id)));
    assert.deepEqual([...delivered(gg).keys()].sort(), producer.sent.map((r) => r.id).sort());
    await until('metrics without the problem', 10_000, () => metrics(gg).at(-1)?.problem === null);
    assert.deepEqual(states, [], 'RUNNING throughout once restarted');
    assert.deepEqual([c.pid, c.state, c.errorCount], [pid, 'RUNNING', 1], 'the same process, never BROKEN');
  }),
);

test('a spool folder that cannot be created (a file in its way) at start: ERRORED once, then RUNNING without a spool; cleared, the same process opens it and delivers everything', T, (t) =>
  // No mount: any user can put a file where the spool folder belongs.
  withSpoolDisk(t, { mount: false, prepare: (dir) => (rmSync(dir, { recursive: true }), writeFileSync(dir, 'not a folder')) }, async ({ gg, spoolDir, c, producer }) => {
    const pid = await restartedOnceAndRunning(c, gg, 'spool:EEXIST', 0);
    const reported = c.jsonLines().find((l) => String(l.msg).startsWith('the component needs an operator: reporting ERRORED'))!;
    assert.match(String(reported.fix), /must be a folder/);
    const states = watchStates(c);
    producer.produce('blocked', { everyMs: 300, perTick: 5, bytes: 800 });
    await sleep(2_000);
    assert.equal(producer.acked.size, 0, 'nothing acknowledged without a spool');
    rmSync(spoolDir);
    await c.waitForOutput(logLine('spool opened; records not yet delivered are sent first'), 30_000);
    await producer.stopNew();
    await producer.drain(30_000);
    await until('every record in Firehose', 30_000, () => producer.sent.every((r) => delivered(gg).has(r.id)));
    assert.deepEqual([...delivered(gg).keys()].sort(), producer.sent.map((r) => r.id).sort());
    assert.deepEqual(states, []);
    assert.deepEqual([c.pid, c.state, c.errorCount], [pid, 'RUNNING', 1]);
  }),
);
