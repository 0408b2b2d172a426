// conduit.OpcUaCollector's component: the only place the real clients are built (Greengrass IPC,
// the OPC UA identity through aws.greengrass.SecretManager or, if configured so, straight from AWS
// Secrets Manager through the token exchange service, node-opcua). It reads and validates the
// component's configuration, starts the pipeline and the OPC UA source, reports RUNNING, and on
// SIGTERM flushes the open windows and the queue within the recipe's Shutdown timeout.
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
import { NodeOpcUaSource } from './opcua';
import { CollectorPipeline } from './pipeline';
import { CollectorRuntime } from './runtime';
import { CaptureHandoff, type HandoffSettings } from './capture-handoff';
import type { CollectorConfig } from './config-types';
import { buildConfigAudit } from './config-diff';
import { LiveConfig, type Validity } from './live-config';
import { ERRORED_REPORT_FILE, ErroredReporter } from '../../../shared/edge/errored-report';

const COMPONENT = 'conduit.OpcUaCollector';
/** Time to flush and publish on SIGTERM: the recipe's Shutdown timeout (15 s) less a margin. */
const SHUTDOWN_BUDGET_MS = 10_000;

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
  ipc.onConnected = (client) =>
    ipc.serveConfigurationUpdates(
      client,
      (deploymentId, proposed) => (live ? live.validate(deploymentId, proposed) : validateAlone(proposed)),
      () => live?.changed(),
    );
  await ipc.connect();
  if (!thingName) return fail('AWS_IOT_THING_NAME is not set: run this component under the Greengrass nucleus');

  let config;
  try {
    config = parseCollectorConfig(await ipc.getConfiguration());
  } catch (e) {
    if (e instanceof ConfigError) return fail('invalid configuration', { issues: e.issues });
    return fail(`cannot read the configuration: ${describeIpcError(e)}`);
  }
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
  const errored = new ErroredReporter({ file: join(process.cwd(), ERRORED_REPORT_FILE), report: () => ipc.updateState('ERRORED'), logger });
  const source = new NodeOpcUaSource({
    config,
    credentials,
    sink: pipeline.onSample,
    // Percent deadbands without a configured range get the server's EURange (the mapping is republished).
    // `pipeline` is read at each call: a live update may have replaced it.
    onEuRanges: (readings) => void reportEuRanges(pipeline, readings, logger),
    logger,
    workDir: process.cwd(),
    onProblem: (problem) => (problem ? void errored.problem(problem) : errored.recovered()),
  });
  // Captures go to conduit.FirehoseSink. The hand-off starts (subscribes to the sink's acks) as soon
  // as a tag has an alarm, at start or when a live update adds one, so that a recipe without the
  // pub/sub permission is reported at deployment, not at the first alarm; a collector without alarms
  // needs no pub/sub permission at all.
  const handoff = new CaptureHandoff({ pubsub: ipc, logger, producer: COMPONENT, ...handoffSettings(config) });
  const runtime = new CollectorRuntime({
    handoff,
    config,
    thingName,
    runId,
    pipeline,
    publisher: ipc,
    logger,
    source,
    onFatal: (reason) => void fail(reason),
  });

  runtime.start();
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
  logger.info({ telemetryTopic: runtime.telemetryTopic }, 'running');

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
    logger.info({ budgetMs: SHUTDOWN_BUDGET_MS }, 'SIGTERM: flushing open windows and the publish queue');
    void (async () => {
      live?.stop();
      await source.stop();
      const { unsent } = await runtime.stop(deadline);
      credentials.close();
      if (unsent > 0) logger.error({ unsent }, 'stopped with messages not yet accepted by the nucleus (data lost)');
      else logger.info({}, 'stopped cleanly');
      await ipc.close();
      process.exit(0);
    })();
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
