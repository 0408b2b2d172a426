// conduit.FirehoseSink's entry point: the only place the real clients are built (Greengrass IPC,
// Amazon Data Firehose through the token exchange service). It reads and validates the configuration,
// opens (and recovers) the spool in the work folder, takes put messages, starts the sender, reports
// RUNNING, and on SIGTERM stops taking records and lets the call in flight finish within the
// recipe's Shutdown timeout. Record data is never logged: only ids and sizes.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Backoff } from '../../../shared/backoff';
import { GreengrassIpc, describeIpcError } from '../../../shared/edge/greengrass-ipc';
import { createLogger } from '../../../shared/edge/logger';
import { describeConfig, parseSinkConfig } from './config';
import { ConfigError } from './errors';
import { FirehosePutter } from './firehose-client';
import { SinkIntake } from './intake';
import { SinkRuntime } from './runtime';
import { FirehoseSender } from './sender';
import { FirehoseSpool } from './spool';

const COMPONENT = 'conduit.FirehoseSink';
/** Time to finish the call in flight on SIGTERM: the recipe's Shutdown timeout (15 s) less a margin. */
const SHUTDOWN_BUDGET_MS = 10_000;
/** The spool's folder inside the component's work folder ({work:path}, the process's cwd). */
const SPOOL_DIR = 'spool';

async function main(): Promise<void> {
  const logger = createLogger(COMPONENT);
  const thingName = process.env.AWS_IOT_THING_NAME ?? '';
  const runId = randomBytes(6).toString('hex');
  const ipc = new GreengrassIpc({ logger, backoff: new Backoff({ initialDelayMs: 500, maxDelayMs: 30_000 }, Math.random) });

  const fail = async (reason: string, fields: Record<string, unknown> = {}): Promise<never> => {
    logger.error({ ...fields, reason }, 'the sink cannot run');
    await ipc.updateState('ERRORED').catch(() => undefined);
    await ipc.close();
    process.exit(1);
  };

  // A deployment's configuration is checked before the nucleus applies it: an invalid one is
  // REJECTED with every problem (the deployment fails, nothing changes here). A valid one takes
  // effect when the component restarts (the spool and the sender are built once): say so.
  ipc.onConnected = (client) =>
    ipc.serveConfigurationUpdates(
      client,
      (deploymentId, proposed) => {
        try {
          parseSinkConfig(proposed, { defaultRegion: process.env.AWS_REGION });
          return { status: 'ACCEPTED' };
        } catch (e) {
          const issues = e instanceof ConfigError ? e.issues : [{ path: '', message: String(e), fix: 'see docs/firehose-sink.md' }];
          logger.warn({ deploymentId, issues }, 'configuration update validated: REJECTED; the running configuration stays');
          return { status: 'REJECTED', message: issues.map((i) => `${i.path || '(root)'}: ${i.message}. Fix: ${i.fix}`).join(' | ').slice(0, 2_000) };
        }
      },
      () => logger.warn({}, 'the configuration changed; it takes effect when the component restarts'),
    );
  await ipc.connect();
  if (!thingName) return fail('AWS_IOT_THING_NAME is not set: run this component under the Greengrass nucleus');

  let config;
  try {
    config = parseSinkConfig(await ipc.getConfiguration(), { defaultRegion: process.env.AWS_REGION });
  } catch (e) {
    if (e instanceof ConfigError) return fail('invalid configuration', { issues: e.issues });
    return fail(`cannot read the configuration: ${describeIpcError(e)}`);
  }
  logger.setLevel(config.logLevel);
  logger.info({ thingName, runId, config: describeConfig(config) }, 'starting');

  let spool: FirehoseSpool;
  const spoolDir = join(process.cwd(), SPOOL_DIR);
  try {
    spool = FirehoseSpool.open({ dir: spoolDir, maxBytes: config.spool.maxBytes, segmentBytes: config.spool.segmentBytes, logger });
  } catch (e) {
    return fail(`cannot open the spool in ${spoolDir}: ${e instanceof Error ? e.message : String(e)}`, { fix: "check that the component's user can write its work folder and that the disk has room" });
  }
  const stats = spool.stats(Date.now());
  logger.info({ dir: spoolDir, ...spool.recovery, bytes: stats.bytes, oldestAgeMs: stats.oldestAgeMs }, 'spool opened; records not yet delivered are sent first');

  const putter = new FirehosePutter({ deliveryStreamName: config.deliveryStreamName, region: config.region, requestTimeoutMs: config.send.requestTimeoutMs });
  const sender = new FirehoseSender({
    spool,
    client: putter,
    backoff: new Backoff({ initialDelayMs: config.send.initialBackoffMs, maxDelayMs: config.send.maxBackoffMs }, Math.random),
    logger,
    maxRecordBytes: config.send.maxRecordBytes,
    lingerMs: config.send.lingerMs,
    maxBackoffMs: config.send.maxBackoffMs,
    now: Date.now,
  });
  const intake = new SinkIntake({ spool, pubsub: ipc, ackTopic: config.ackTopic, logger, now: Date.now });
  const runtime = new SinkRuntime({ config, thingName, runId, spool, intake, sender, publisher: ipc, logger });

  runtime.start();
  ipc.subscribeToTopic(config.putTopic, (payload) => intake.onMessage(payload));
  await ipc.updateState('RUNNING').catch((e) => logger.warn({ error: describeIpcError(e) }, 'cannot report RUNNING'));
  logger.info({ putTopic: config.putTopic, ackTopic: config.ackTopic, metricsTopic: runtime.metricsTopic }, 'running');

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
    logger.info({ budgetMs: SHUTDOWN_BUDGET_MS }, 'SIGTERM: no new records; finishing the call in flight');
    void (async () => {
      const { abandonedCall, spooled } = await runtime.stop(deadline);
      putter.destroy();
      // Spooled records are not lost: the next start sends them.
      logger.info({ abandonedCall, spooled }, 'stopped cleanly');
      await ipc.close();
      process.exit(0);
    })();
  });
}

main().catch((e) => {
  process.stderr.write(`conduit.FirehoseSink failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
