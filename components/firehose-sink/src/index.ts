// conduit.FirehoseSink's entry point: the only place the real clients are built (Greengrass IPC,
// Amazon Data Firehose through the token exchange service). It reads and validates the configuration,
// opens (and recovers) the spool in the work folder, takes put messages, starts the sender, reports
// RUNNING, applies configuration updates live (live-config.ts), and on SIGTERM stops taking records,
// lets the call in flight finish or abandons it, and closes the spool within a 3 s budget (the nucleus
// kills 5 s after SIGTERM). A spool disk that is full, read-only or missing keeps it RUNNING and
// accepting nothing until the disk is fixed (spool-guard.ts). Record data is never logged: only ids
// and sizes.
import { issuesForLog } from '../../../shared/config-error';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Backoff } from '../../../shared/backoff';
import { GreengrassIpc, describeIpcError } from '../../../shared/edge/greengrass-ipc';
import { ERRORED_REPORT_FILE, ErroredReporter } from '../../../shared/edge/errored-report';
import { createLogger } from '../../../shared/edge/logger';
import { ChangeSignal, startupConfig } from '../../../shared/edge/startup-config';
import { describeConfig, parseSinkConfig, type SinkConfig } from './config';
import { FirehosePutter } from './firehose-client';
import { SinkIntake } from './intake';
import { SinkLiveConfig, validateSinkConfig, type SendPath } from './live-config';
import { SinkRuntime, withDeadline } from './runtime';
import { FirehoseSender } from './sender';
import { FirehoseSpool } from './spool';
import { SpoolGuard } from './spool-guard';

const COMPONENT = 'conduit.FirehoseSink';
/**
 * Time from SIGTERM to a closed spool. The nucleus sends SIGKILL 5 s after SIGTERM, hard-coded
 * (Exec.gracefulShutdownTimeout; the recipe's Shutdown Timeout does not lengthen it): 3 s leaves
 * room for a loaded core, the IPC close and the exit.
 */
const SHUTDOWN_BUDGET_MS = 3_000;
/** The IPC connection's close gets this long after the spool is closed. */
const IPC_CLOSE_WAIT_MS = 300;
/** If a stop step hangs regardless, exit here, still a second before the nucleus's kill. */
const EXIT_BACKSTOP_MS = 4_000;
/** Retries of a spool that cannot be opened or written: capped backoff with full jitter. */
const SPOOL_RETRY_INITIAL_MS = 1_000;
const SPOOL_RETRY_MAX_MS = 10_000;
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
  const configChanged = new ChangeSignal();
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
      () => {
        if (live) live.changed();
        else {
          changedBeforeRunning = true;
          configChanged.notify();
        }
      },
    );
  await ipc.connect();
  if (!thingName) return fail('AWS_IOT_THING_NAME is not set: run this component under the Greengrass nucleus');

  // An invalid configuration keeps the component up, waiting for a deployment that fixes it
  // (shared/edge/startup-config.ts): ERRORED once, never BROKEN for it.
  const configErrored = new ErroredReporter({ file: join(process.cwd(), ERRORED_REPORT_FILE), report: () => ipc.updateState('ERRORED'), logger });
  const config = await startupConfig({
    read: () => ipc.getConfiguration(),
    parse: parse,
    nextChange: (timeoutMs) => configChanged.wait(timeoutMs),
    problem: (p) => configErrored.problem(p),
    recovered: () => configErrored.recovered(),
    logger,
    docs: 'docs/firehose-sink.md',
    describeReadError: describeIpcError,
  });
  // A change noticed during the read may or may not be in it: changedBeforeRunning stays, and the
  // read-back once running is at worst a no-op.
  logger.setLevel(config.logLevel);
  logger.info({ thingName, runId, config: describeConfig(config) }, 'starting');

  // A spool whose disk is full, read-only or missing does not stop the sink (that would end BROKEN
  // after three restarts, with the collector holding records meanwhile): it starts without it and
  // opens it as soon as it can (spool-guard.ts); until then it accepts nothing.
  const spoolDir = join(process.cwd(), SPOOL_DIR);
  const spool = FirehoseSpool.unopened({ dir: spoolDir, maxBytes: config.spool.maxBytes, segmentBytes: config.spool.segmentBytes, logger });

  // A stream that does not exist or may not be written, a spool disk that cannot store: ERRORED for
  // the console, rate-limited so the nucleus never marks the sink BROKEN for it; records wait in the
  // spool (or in the producer) meanwhile. One reporter per cause, over the same record file (so the
  // gap holds across both), so that delivery recovering does not end the disk's episode.
  const erroredFile = join(process.cwd(), ERRORED_REPORT_FILE);
  const errored = new ErroredReporter({ file: erroredFile, report: () => ipc.updateState('ERRORED'), logger });
  const spoolErrored = new ErroredReporter({ file: erroredFile, report: () => ipc.updateState('ERRORED'), logger });
  // One report at a time across both, so two episodes starting together cannot both read "no recent
  // ERRORED" from the file and report twice. problem() never rejects.
  let reporting: Promise<void> = Promise.resolve();
  const serially = (report: () => Promise<void>): void => void (reporting = reporting.then(report));
  const guard = new SpoolGuard({
    spool,
    backoff: new Backoff({ initialDelayMs: SPOOL_RETRY_INITIAL_MS, maxDelayMs: SPOOL_RETRY_MAX_MS }, Math.random),
    logger,
    now: Date.now,
    onProblem: (problem) => (problem ? serially(() => spoolErrored.problem(problem)) : serially(async () => spoolErrored.recovered())),
  });
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
      onProblem: (problem) => (problem ? serially(() => errored.problem(problem)) : serially(async () => errored.recovered())),
    });
    return { sender, close: () => putter.destroy() };
  };
  const sendPath = buildSendPath(config);
  const intake = new SinkIntake({ spool: guard, pubsub: ipc, ackTopic: config.ackTopic, logger, now: Date.now });
  const runtime = new SinkRuntime({ config, thingName, runId, spool, intake, sender: sendPath.sender, publisher: ipc, logger, spoolProblem: () => guard.problem });
  const subscribePut = (topic: string) => ipc.subscribeToTopic(topic, (payload) => intake.onMessage(payload));

  // Reported before the first call, so that an ERRORED from it comes after it.
  await ipc.updateState('RUNNING').catch((e) => logger.warn({ error: describeIpcError(e) }, 'cannot report RUNNING'));
  runtime.start();
  guard.start();
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
    const termAt = Date.now();
    const deadline = termAt + SHUTDOWN_BUDGET_MS;
    logger.info({ budgetMs: SHUTDOWN_BUDGET_MS }, 'SIGTERM: no new records; finishing the call in flight');
    // Should a step hang after all, the process still exits before the nucleus's SIGKILL, and says so.
    setTimeout(() => {
      logger.warn({ afterMs: Date.now() - termAt }, 'stop: not finished in time; exiting now (records not delivered stay in the spool for the next start)');
      process.exit(0);
    }, EXIT_BACKSTOP_MS);
    void (async () => {
      // An update being applied finishes on its own; the stopped runtime no longer resumes sending.
      live?.stop();
      guard.stop();
      const report = await runtime.stop(deadline);
      live?.sendPath.close();
      // Nothing of this is lost: the spooled and abandoned records go at the next start, and the
      // producer re-sends what was not acknowledged.
      const unfinished = report.abandonedCall || report.acksNotOut > 0 || !report.loopEnded || !report.synced;
      (unfinished ? logger.warn : logger.info).call(logger, { ...report, tookMs: Date.now() - termAt, budgetMs: SHUTDOWN_BUDGET_MS }, unfinished ? 'stopped within the budget; what could not finish is counted here' : 'stopped cleanly');
      await withDeadline(ipc.close(), IPC_CLOSE_WAIT_MS);
      process.exit(0);
    })();
  });
}

main().catch((e) => {
  process.stderr.write(`conduit.FirehoseSink failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
