// `npm run demo [-- --duration N]`: conduit's main job, locally. A simulated plant (a real OPC UA
// server, SignAndEncrypt), a local Greengrass core (IPC server, token exchange service, Secrets
// Manager, Firehose) and conduit.OpcUaCollector and conduit.FirehoseSink built and deployed from their
// recipes exactly as on a gateway. Once a second the demo prints what reached "AWS IoT Core": per tag
// the last 1 s RMS or the last value, the points published, and the reduction so far; after the
// vibration step, the alarm, its capture id and the capture's records arriving at the local Firehose.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../test/harness/contracts';
import { deployCollectorSecret } from '../test/harness/fixtures';
import { LocalGreengrass } from '../test/harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../test/harness/launcher/component';
import { SimulatedPlant } from '../test/harness/plant/plant';
import { rows, telemetryMessages } from '../test/harness/telemetry';
import { buildComponent, REPO_ROOT } from './build';

const THING = 'demo-gateway';
const SECRET = 'conduit/opcua-collector';
const STEP_AFTER_S = 20;
const STREAM = 'conduit-bursts';
/** The demo's pre-trigger: short enough for the ring to be full when the vibration steps at 20 s. */
const DEMO_PRE_TRIGGER_S = 15;
/**
 * The whole stop: the collector (3 s budget, killed at 5 s like the nucleus does), the sink (the
 * same), the core and the plant. Past it, what is left is killed, so the demo never leaves a
 * component running behind it.
 */
const STOP_DEADLINE_MS = 20_000;

function parseDuration(argv: string[]): number | undefined {
  const i = argv.indexOf('--duration');
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error('--duration takes a number of seconds, e.g. --duration 30');
    process.exit(2);
  }
  return n;
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  return v === undefined || v === null ? '-' : String(v);
}

async function main(): Promise<void> {
  const duration = parseDuration(process.argv.slice(2));
  const scratch = mkdtempSync(join(tmpdir(), 'conduit-demo-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  /** Process groups of the components (each runs detached, as under the nucleus): killed if the stop overruns. */
  const groups: Array<() => number | undefined> = [];
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping (the collector flushes its open windows and queue first)…`);
    const overrun = setTimeout(() => {
      console.error(`the stop took more than ${STOP_DEADLINE_MS} ms: killing what is left`);
      for (const g of groups) killGroup(g());
      rmSync(scratch, { recursive: true, force: true });
      process.exit(1);
    }, STOP_DEADLINE_MS);
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(String(e)));
    clearTimeout(overrun);
    rmSync(scratch, { recursive: true, force: true });
    process.exit(0);
  };
  // The components run in process groups of their own (as under the nucleus), so a closing terminal's
  // SIGHUP reaches only the demo: without a handler Node would die at once and leave them running.
  // After a hang-up the terminal is gone, and writing to it fails (EIO): the stop must not die of that.
  process.on('SIGHUP', () => {
    for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
    void stop('terminal closed (SIGHUP)');
  });
  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  console.log('building conduit.OpcUaCollector and conduit.FirehoseSink from recipes/…');
  const outDir = join(scratch, 'build');
  const [built] = await buildComponent({
    recipePath: join(REPO_ROOT, 'recipes/conduit.OpcUaCollector.yaml'),
    componentsRoot: join(REPO_ROOT, 'components'),
    outDir,
  });
  const [builtSink] = await buildComponent({
    recipePath: join(REPO_ROOT, 'recipes/conduit.FirehoseSink.yaml'),
    componentsRoot: join(REPO_ROOT, 'components'),
    outDir,
  });
  // Kept after the demo ends, so the delivered capture can be read.
  const firehoseDir = join(tmpdir(), 'conduit-demo-firehose');
  mkdirSync(firehoseDir, { recursive: true });
  const firehoseFile = join(firehoseDir, `${STREAM}.jsonl`);
  writeFileSync(firehoseFile, '');

  console.log('starting the simulated plant (node-opcua, SignAndEncrypt/Basic256Sha256)…');
  const password = 'demo-' + Math.random().toString(36).slice(2, 10);
  const plant = await SimulatedPlant.start({ pkiDir: join(scratch, 'plant-pki'), users: [{ username: 'conduit', password }] });
  cleanups.push(() => plant.close());

  console.log('starting the local Greengrass core and AWS endpoints…');
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  cleanups.push(() => gg.close());
  gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password });
  gg.aws.firehose.createDeliveryStream(STREAM);
  const sink: LaunchedComponent = await gg.deploy({
    recipePath: builtSink!.recipePath,
    artifactDir: join(outDir, 'artifacts'),
    configurationUpdate: { merge: { deliveryStreamName: STREAM, metrics: { intervalSec: 5 } } as JsonObject },
  });
  cleanups.push(() => sink.stop());
  groups.push(() => sink.pid);
  await sink.waitForState('RUNNING', 30_000);

  const tags = plant.tags.map((t) =>
    t.kind === 'vibration'
      ? { name: t.name, nodeId: t.nodeId, mode: 'rms', unit: t.unit, alarm: { on: 'rms', raiseAt: 5, clearBelow: 3, minDurationMs: 2000 } }
      : t.kind === 'temperature' || t.kind === 'pressure'
        ? { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { absolute: t.kind === 'temperature' ? 0.05 : 0.01 }, unit: t.unit }
        : { name: t.name, nodeId: t.nodeId, mode: 'change' },
  );
  const collector: LaunchedComponent = await gg.deploy({
    recipePath: built!.recipePath,
    artifactDir: join(outDir, 'artifacts'),
    configurationUpdate: {
      merge: {
        endpointUrl: plant.endpointUrl,
        serverTrust: { thumbprints: [plant.certificateThumbprint] },
        credentialsSecretId: SECRET,
        // As a deployment does: the secret kept by aws.greengrass.SecretManager, readable by its ARN.
        accessControl: deployCollectorSecret(gg, SECRET),
        site: 'demo-plant',
        area: 'line-1',
        mappingVersion: 'demo-1',
        tags,
        metrics: { intervalSec: 5 },
        burst: { preTriggerSec: DEMO_PRE_TRIGGER_S },
      } as unknown as JsonObject,
    },
  });
  // Stopping the collector first lets it flush, as the nucleus would on a deployment.
  cleanups.push(() => collector.stop());
  groups.push(() => collector.pid);
  await collector.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed"'), 60_000);

  const telemetryTopic = `conduit/${THING}/telemetry`;
  const started = Date.now();
  let stepped = false;
  const tick = setInterval(() => {
    void (async () => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      if (!stepped && elapsed >= STEP_AFTER_S) {
        stepped = true;
        await plant.stepAmplitude(plant.tags.find((t) => t.kind === 'vibration')!.name, 12);
      }
      const all = rows(telemetryMessages(gg.iotCore, telemetryTopic));
      const metrics = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics`).at(-1);
      const m = metrics ? (JSON.parse(metrics.payload.toString()) as Record<string, any>) : undefined;
      const counts = await plant.requestCounts();
      const alarms = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/alarms`).map((r) => JSON.parse(r.payload.toString()) as Record<string, any>);
      const records = gg.aws.firehose.records(STREAM);
      writeFileSync(firehoseFile, Buffer.concat(records));
      const captures = records
        .flatMap((b) => b.toString('utf8').split('\n'))
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, any>)
        .filter((l) => l.type === 'capture');
      const bytes = gg.iotCore.reduce((s, r) => s + r.payload.length, 0);
      const lines = [
        `conduit demo: ${elapsed} s${duration ? ` of ${duration}` : ' (Ctrl-C to stop)'}   plant ${plant.endpointUrl} → collector → IoT Core (local)`,
        '',
        `${'tag'.padEnd(16)}${'mode'.padEnd(10)}${'RMS / last value'.padStart(18)}${'points'.padStart(8)}  unit`,
        ...plant.tags.map((t, i) => {
          const mine = all.filter((r) => r.tag === i);
          const last = mine.at(-1);
          const shown = last === undefined ? undefined : last.type === 'rms' ? last.rms : last.value;
          return `${t.name.padEnd(16)}${String(tags[i]!.mode).padEnd(10)}${fmt(shown).padStart(18)}${String(mine.length).padStart(8)}  ${t.unit ?? ''}`;
        }),
        '',
        `IoT Core: ${gg.iotCore.length} messages, ${(bytes / 1024).toFixed(1)} KiB on ${telemetryTopic} and /metrics, /mapping`,
        m
          ? `collector: ${m.samplesReceived} samples in, ${m.pointsPublished} points out (1 point per ${m.reductionRatio} samples), ${m.bytesPerPoint} bytes/point, lost ${Object.values(m.lost as Record<string, number>).reduce((a, b) => a + b, 0)}`
          : 'collector: first metrics after 5 s',
        `read-only proof: the plant received ${counts.write} Write, ${counts.call} Call, ${counts.historyUpdate} HistoryUpdate requests`,
        stepped ? `vibration amplitude of ${plant.tags[0]!.name} stepped to 12 at ${STEP_AFTER_S} s: watch its RMS` : `vibration amplitude steps up at ${STEP_AFTER_S} s`,
        '',
        ...(alarms.length === 0
          ? ['alarms: none yet (Vib01 raises at an RMS of 5 mm/s held 2 s)']
          : alarms.map((a) => `alarm ${a.event} ${a.tag} at ${new Date(a.at).toISOString()} value ${fmt(a.value)}  alarmId ${a.alarmId}  captureId ${a.captureId ?? '-'}`)),
        captures.length === 0
          ? `Firehose (local, stream ${STREAM}): no capture yet${alarms.length > 0 ? ' (it closes 10 s after the alarm, then goes sink → spool → PutRecordBatch)' : ''}`
          : `Firehose (local, stream ${STREAM}): ${records.length} records; capture ${captures.map((c) => `${c.captureId} part ${c.part}/${c.parts}: ${c.total} samples (${c.preTriggerCount} before the alarm), ${c.complete ? 'complete' : `incomplete: ${c.incomplete.join(', ')}${c.gaps?.missingSamples ? ` (${c.gaps.missingSamples} samples the server never sampled)` : ''}`}`).join('; ')}`,
        `Firehose records kept in ${firehoseFile}`,
        `collector log: ${collector.logPath}`,
        `sink log: ${sink.logPath}`,
      ];
      if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      console.log(lines.join('\n'));
      if (duration !== undefined && elapsed >= duration) {
        clearInterval(tick);
        await stop(`${duration} s elapsed`);
      }
    })();
  }, 1000);
  cleanups.push(async () => clearInterval(tick));
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
