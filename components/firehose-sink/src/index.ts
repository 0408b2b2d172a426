// conduit.FirehoseSink's entry point: the only place the real clients are built (Greengrass IPC,
// Amazon Data Firehose through the token exchange service). It reads and validates the configuration,
// opens (and recovers) the spool in the work folder, takes put messages, starts the sender, reports
// RUNNING, applies configuration updates live (live-config.ts), and on SIGTERM stops taking records
// and lets the call in flight finish within the recipe's Shutdown timeout. Record data is never
// logged: only ids and sizes.
import { issuesForLog } from '../../../shared/config-error';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Backoff } from '../../../shared/backoff';
import { GreengrassIpc, describeIpcError } from '../../../shared/edge/greengrass-ipc';
import { ERRORED_REPORT_FILE, ErroredReporter } from '../../../shared/edge/errored-report';
import { createLogger } from '../../../shared/edge/logger';
import { describeConfig, parseSinkConfig, type SinkConfig } from './config';
import { ConfigError } from './errors';
import { FirehosePutter } from './firehose-client';
import { SinkIntake } from './intake';
import { SinkLiveConfig, validateSinkConfig, type SendPath } from './live-config';
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

  const parse = (raw: unknown) => parseSinkConfig(raw, { defaultRegion: process.env.AWS_REGION });
  // A deployment's configuration is checked before the nucleus applies it: an invalid one is
  // REJECTED with every problem (the deployment fails, nothing changes here); a valid one is applied
  // in this process once the nucleus has written it (live-config.ts). Until the sink runs there is
  // nothing to apply to: a change noticed then is applied as soon as it does.
  let live: SinkLiveConfig | undefined;
  let changedBeforeRunning = false;
  ipc.onConnected = (client) =>
    ipc.serveConfigurationUpdates(
      client,
      (deploymentId, proposed) => {
        if (live) return live.validate(deploymentId, proposed);
        const verdict = validateSinkConfig(proposed, parse);
        if (verdict.status === 'ACCEPTED') return { status: 'ACCEPTED' };
        logger.warn({ deploymentId, ...issuesForLog(verdict.issues) }, 'configuration update validated: REJECTED; the running configuration stays');
        return { status: 'REJECTED', message: verdict.message };
      },
      () => (live ? live.changed() : (changedBeforeRunning = true)),
    );
  await ipc.connect();
  if (!thingName) return fail('AWS_IOT_THING_NAME is not set: run this component under the Greengrass nucleus');

  let config;
  try {
    config = parse(await ipc.getConfiguration());
  } catch (e) {
    if (e instanceof ConfigError) return fail('invalid configuration', issuesForLog(e.issues));
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

  // A stream that does not exist or may not be written: ERRORED for the console, rate-limited so the
  // nucleus never marks the sink BROKEN for it; the records wait in the spool meanwhile.
  const errored = new ErroredReporter({ file: join(process.cwd(), ERRORED_REPORT_FILE), report: () => ipc.updateState('ERRORED'), logger });
  // Built at start, and again by a live update of deliveryStreamName, region or send.*: always over
  // the same spool, so the records waiting in it are the new sender's to send.
  const buildSendPath = (c: SinkConfig): SendPath => {
    const putter = new FirehosePutter({ deliveryStreamName: c.deliveryStreamName, region: c.region, requestTimeoutMs: c.send.requestTimeoutMs });
    const sender = new FirehoseSender({
      spool,
      client: putter,
      backoff: new Backoff({ initialDelayMs: c.send.initialBackoffMs, maxDelayMs: c.send.maxBackoffMs }, Math.random),
      logger,
      maxRecordBytes: c.send.maxRecordBytes,
      lingerMs: c.send.lingerMs,
      maxBackoffMs: c.send.maxBackoffMs,
      now: Date.now,
      onProblem: (problem) => (problem ? void errored.problem(problem) : errored.recovered()),
    });
    return { sender, close: () => putter.destroy() };
  };
  const sendPath = buildSendPath(config);
  const intake = new SinkIntake({ spool, pubsub: ipc, ackTopic: config.ackTopic, logger, now: Date.now });
  const runtime = new SinkRuntime({ config, thingName, runId, spool, intake, sender: sendPath.sender, publisher: ipc, logger });
  const subscribePut = (topic: string) => ipc.subscribeToTopic(topic, (payload) => intake.onMessage(payload));

  // Reported before the first call, so that an ERRORED from it comes after it.
  await ipc.updateState('RUNNING').catch((e) => logger.warn({ error: describeIpcError(e) }, 'cannot report RUNNING'));
  runtime.start();
  const put = subscribePut(config.putTopic);
  live = new SinkLiveConfig({
    logger,
    initial: config,
    sendPath,
    put,
    parts: {
      setLogLevel: (level) => logger.setLevel(level),
      runtime,
      intake,
      spool,
      subscribePut,
      buildSendPath,
    },
    read: () => ipc.getConfiguration(),
    parse,
  });
  if (changedBeforeRunning) live.changed();
  logger.info({ putTopic: config.putTopic, ackTopic: config.ackTopic, metricsTopic: runtime.metricsTopic }, 'running');

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
    logger.info({ budgetMs: SHUTDOWN_BUDGET_MS }, 'SIGTERM: no new records; finishing the call in flight');
    void (async () => {
      // An update being applied finishes on its own; the stopped runtime no longer resumes sending.
      live?.stop();
      const { abandonedCall, spooled } = await runtime.stop(deadline);
      live?.sendPath.close();
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
