// conduit.OpcUaCollector's component: the only place the real clients are built (Greengrass IPC,
// the OPC UA identity through aws.greengrass.SecretManager or, if configured so, straight from AWS
// Secrets Manager through the token exchange service, node-opcua). It reads and validates the
// component's configuration, starts the pipeline and the OPC UA source, reports RUNNING, and on
// SIGTERM stops within STOP_BUDGET_MS: the nucleus sends SIGKILL 5 s after SIGTERM, whatever the
// recipe's Shutdown Timeout says (Exec.java, gracefulShutdownTimeout).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { format } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import { Backoff } from '../../../shared/backoff';
import { validityReport } from '../../../shared/config-error';
import { parseCollectorConfig, describeConfig } from './config';
import { ConfigError } from './errors';
import { reportEuRanges } from './eu-range';
import { SecretsManagerCredentialSource, type CachedCredentialSource } from './credentials';
import { GreengrassCredentialSource } from './greengrass-credentials';
import { GreengrassIpc, describeIpcError } from '../../../shared/edge/greengrass-ipc';
import { createLogger } from '../../../shared/edge/logger';
import { ChangeSignal, startupConfig } from '../../../shared/edge/startup-config';
import { NodeOpcUaSource } from './opcua';
import { CollectorPipeline } from './pipeline';
import { CollectorRuntime } from './runtime';
import { CaptureHandoff, type HandoffSettings } from './capture-handoff';
import type { CollectorConfig } from './config-types';
import { buildConfigAudit } from './config-diff';
import { LiveConfig, type Validity } from './live-config';
import { ERRORED_REPORT_FILE, ErroredReporter } from '../../../shared/edge/errored-report';
import { AlarmLedger } from './alarm-ledger';
import { AlarmLedgerFile } from './alarm-ledger-file';
import { CaptureSpill } from './capture-spill';

const COMPONENT = 'conduit.OpcUaCollector';
/**
 * SIGTERM to exit. The nucleus kills 5 s after SIGTERM (hard-coded); 3 s leaves room for a loaded
 * core and a slow event loop. At the budget the process exits whatever is still pending.
 */
const STOP_BUDGET_MS = 3_000;
/** The publish queue and the sink hand-off drain until this long after SIGTERM. */
const DRAIN_BUDGET_MS = 2_500;
/** Closing the OPC UA session (in parallel with the drain) waits at most this: a dead server must not hold the stop. */
const SESSION_CLOSE_MS = 2_000;
/** Closing the IPC connection, last. */
const IPC_CLOSE_MS = 250;

async function main(): Promise<void> {
  const logger = createLogger(COMPONENT);
  // node-opcua prints its own multi-line console text; carry it in the JSON log instead, so every
  // line of the component's log can be parsed. Its "errors" are connection failures the collector
  // already handles and logs, so they are warnings here (ERROR is kept for lost data).
  const fromNodeOpcua = (...args: unknown[]): void =>
    logger.warn({ source: 'node-opcua', text: format(...args).replace(/\u001b\[[0-9;]*m/g, '').trim() }, 'node-opcua');
  setWarningLogger(fromNodeOpcua);
  setErrorLogger(fromNodeOpcua);
  const thingName = process.env.AWS_IOT_THING_NAME ?? '';
  const runId = randomBytes(6).toString('hex');
  const ipc = new GreengrassIpc({ logger, backoff: new Backoff({ initialDelayMs: 500, maxDelayMs: 30_000 }, Math.random) });

  const fail = async (reason: string, fields: Record<string, unknown> = {}): Promise<never> => {
    logger.error({ ...fields, reason }, 'the collector cannot run');
    await ipc.updateState('ERRORED').catch(() => undefined);
    await ipc.close();
    process.exit(1);
  };

  // Set once the component runs; until then a validate event is checked against the schema alone.
  let live: LiveConfig | undefined;
  let changedBeforeRunning = false;
  const configChanged = new ChangeSignal();
  ipc.onConnected = (client) =>
    ipc.serveConfigurationUpdates(
      client,
      (deploymentId, proposed) => (live ? live.validate(deploymentId, proposed) : validateAlone(proposed)),
      // Until the collector runs there is nothing to apply to: a change noticed then is applied as
      // soon as it does (the deployment has succeeded; dropping it would leave the old mapping running).
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
    parse: parseCollectorConfig,
    nextChange: (timeoutMs) => configChanged.wait(timeoutMs),
    problem: (p) => configErrored.problem(p),
    recovered: () => configErrored.recovered(),
    logger,
    docs: 'docs/configuration.md',
    describeReadError: describeIpcError,
  });
  // A change noticed during the read may or may not be in it: changedBeforeRunning stays, and the
  // read-back once running is at worst a no-op.
  logger.setLevel(config.logLevel);
  logger.info({ thingName, runId, mappingVersion: config.mappingVersion, config: describeConfig(config) }, 'starting');
  if (config.mode === 'shadow') {
    logger.warn({ mode: config.mode }, 'shadow mode: the pipeline runs but only metrics are published (what would be published is in their "shadow" field)');
  }
  if (config.allowInsecure) {
    logger.warn({ securityMode: config.securityMode, securityPolicy: config.securityPolicy }, 'allowInsecure is true: the OPC UA connection may be unencrypted and the server unauthenticated');
  }

  let pipeline: CollectorPipeline;
  try {
    pipeline = new CollectorPipeline(config, { thingName, runId });
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const credentialSource = (c: CollectorConfig): CachedCredentialSource =>
    c.credentialsSource === 'secretsmanager'
      ? new SecretsManagerCredentialSource({ secretId: c.credentialsSecretId })
      : new GreengrassCredentialSource(c.credentialsSecretId, ipc);
  let credentials = credentialSource(config);
  // A wrong password, an untrusted server or a broken secret: ERRORED for the console, rate-limited
  // so the nucleus never marks the component BROKEN for it (shared/edge/errored-report.ts).
  // One reporter per cause (the OPC UA side; publishing), over one record file so that the gap holds
  // across both, and one report at a time, so two episodes starting together report ERRORED once.
  const erroredFile = join(process.cwd(), ERRORED_REPORT_FILE);
  const errored = new ErroredReporter({ file: erroredFile, report: () => ipc.updateState('ERRORED'), logger });
  const publishErrored = new ErroredReporter({ file: erroredFile, report: () => ipc.updateState('ERRORED'), logger });
  let reporting: Promise<void> = Promise.resolve();
  const serially = (report: () => Promise<void> | void): void => void (reporting = reporting.then(report));
  const source = new NodeOpcUaSource({
    config,
    credentials,
    sink: pipeline.onSample,
    // Percent deadbands without a configured range get the server's EURange (the mapping is republished).
    // `pipeline` is read at each call: a live update may have replaced it.
    onEuRanges: (readings) => void reportEuRanges(pipeline, readings, logger),
    logger,
    workDir: process.cwd(),
    onProblem: (problem) => serially(() => (problem ? errored.problem(problem) : errored.recovered())),
  });
  // Captures go to conduit.FirehoseSink. The hand-off starts (subscribes to the sink's acks) as soon
  // as a tag has an alarm, at start or when a live update adds one, so that a recipe without the
  // pub/sub permission is reported at deployment, not at the first alarm; a collector without alarms
  // needs no pub/sub permission at all.
  const handoff = new CaptureHandoff({ pubsub: ipc, logger, producer: COMPONENT, ...handoffSettings(config) });
  // What a crash would leave open in the cloud, and what the previous run left open (closed at start).
  const ledgerFile = AlarmLedgerFile.inWorkDir(process.cwd(), logger);
  const ledger = new AlarmLedger(ledgerFile.load());
  // Finished captures stay on disk until the sink has them; what an earlier run left is handed over again.
  const spill = new CaptureSpill(process.cwd(), logger);
  const runtime = new CollectorRuntime({
    ledger,
    saveLedger: () => ledgerFile.save(ledger),
    spill,
    recovered: spill.load(),
    handoff,
    config,
    thingName,
    runId,
    pipeline,
    publisher: ipc,
    logger,
    source,
    // The accessControl lacks a topic: held and retried until a deployment fixes it (runtime.ts).
    onProblem: (problem) => serially(() => (problem ? publishErrored.problem(problem) : publishErrored.recovered())),
  });

  runtime.start();
  // From here on a SIGTERM gets the bounded stop, even while the source is still starting.
  // `live` is set further down; until then there is no configuration listener to stop.
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    const startedAt = Date.now();
    let sessionClosed = false;
    logger.info({ budgetMs: STOP_BUDGET_MS }, 'SIGTERM: closing the open windows, alarms and captures, publishing what is queued, closing the OPC UA session');
    // One line, with the counts of what could not finish; ERROR when data is lost with the process.
    const finish = (ranOut: boolean): void => {
      const r = runtime.stopReport();
      const fields = { ...r, sessionClosed, tookMs: Date.now() - startedAt, budgetMs: STOP_BUDGET_MS, ranOut };
      if (r.unsent > 0 || r.recordsLost > 0) {
        logger.error(fields, 'stopped with data lost: messages the nucleus had not accepted (unsent) and capture records neither acknowledged by the sink nor kept on disk (recordsLost)');
      } else if (ranOut || !sessionClosed || r.unackedRecords + r.alarmsLeftOpen + r.capturesLeftOpen > 0) {
        logger.warn(fields, 'stopped; the next run hands over the captures kept on disk and closes what is left open');
      } else {
        logger.info(fields, 'stopped cleanly');
      }
      process.exit(0);
    };
    // Whatever still waits at the budget (a server that never answers CloseSession, an IPC call, a
    // secret read, a reconnect timer), the process ends before the nucleus's SIGKILL.
    setTimeout(() => finish(true), STOP_BUDGET_MS);
    live?.stop();
    // Synchronously: no new sample from here on. The session closes while the queue drains.
    const closing = source.stop(SESSION_CLOSE_MS).then((ok) => void (sessionClosed = ok));
    void (async () => {
      await runtime.stop(startedAt + DRAIN_BUDGET_MS);
      await closing;
      credentials.close();
      await within(ipc.close(), IPC_CLOSE_MS);
      finish(false);
    })();
  });
  if (pipeline.burst.enabled) handoff.start();
  // Reported before the source starts, so that an ERRORED from its first attempts comes after it.
  await ipc.updateState('RUNNING').catch((e) => logger.warn({ error: describeIpcError(e) }, 'cannot report RUNNING'));
  await source.start();
  live = new LiveConfig({
    logger,
    initial: config,
    read: () => ipc.getConfiguration(),
    apply: async (next, diff) => {
      logger.setLevel(next.logLevel);
      const replaced = diff.pipelineChanged ? new CollectorPipeline(next, { thingName, runId }) : pipeline;
      let newCredentials: CachedCredentialSource | undefined;
      const current = live!.current;
      if (next.credentialsSecretId !== current.credentialsSecretId || next.credentialsSource !== current.credentialsSource) newCredentials = credentialSource(next);
      // Samples go to the new pipeline from here on; then the old one is flushed behind them.
      if (diff.reconnect || diff.subscriptionChanged || replaced !== pipeline) {
        await source.reconfigure(next, replaced.onSample, { reconnect: diff.reconnect, ...(newCredentials ? { credentials: newCredentials } : {}) });
      }
      runtime.reconfigure(next, replaced);
      pipeline = replaced;
      await handoff.configure(handoffSettings(next));
      if (pipeline.burst.enabled) handoff.start();
      if (newCredentials) {
        credentials.close();
        credentials = newCredentials;
      }
      if (next.mode !== live!.current.mode) logger.warn({ mode: next.mode }, next.mode === 'shadow' ? 'shadow mode: only metrics are published from now on' : 'active mode: publishing again');
    },
    audit: (diff) => runtime.publishAudit(buildConfigAudit(diff, { thingName, site: live!.current.site, area: live!.current.area, runId, nowMs: Date.now() })),
  });
  if (changedBeforeRunning) live.changed();
  logger.info({ telemetryTopic: runtime.telemetryTopic }, 'running');

}

/** `p`, or nothing after `ms`: a close that never settles must not hold the stop. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    p.catch(() => undefined).finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function handoffSettings(c: CollectorConfig): HandoffSettings {
  return { putTopic: c.burst.sinkTopic, ackTopic: c.burst.sinkAckTopic, ackTimeoutMs: c.burst.ackTimeoutMs, maxPendingBytes: c.burst.maxPendingBytes };
}

/** Before the component runs there is no running configuration to compare with: the schema decides. */
function validateAlone(raw: unknown): Validity {
  try {
    parseCollectorConfig(raw);
    return { status: 'ACCEPTED' };
  } catch (e) {
    const issues = e instanceof ConfigError ? e.issues : [{ path: '', message: String(e), fix: 'see docs/configuration.md' }];
    return { status: 'REJECTED', message: validityReport(issues) };
  }
}

/** Runs the component until SIGTERM; called by index.ts when no tool command is given. */
export function run(): void {
  main().catch((e) => {
    process.stderr.write(`conduit.OpcUaCollector failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
