// NodeOpcUaSource: the collector's OPC UA edge. It owns the connection's whole life: connect with
// the pinned server certificate and the identity from the CredentialSource, one subscription with
// chunked monitored items, samples to the sink, and reconnection.
//
// Reconnection is ours, not node-opcua's (its connectionStrategy is maxRetry 0). Every reconnect is
// a new client that repeats the full path — discovery, certificate check, channel, session with the
// current credentials, subscription, monitored items — so "reconnected" always means "subscription
// re-created", whatever the server lost; a rotated password and a changed pin take effect on the next
// attempt. What that gives up: node-opcua could reactivate a session after a short network blip and
// Republish the notifications the server still holds. The server only holds queueSize values per item
// (about two publishing intervals), so that recovers at most ~1 s of data per blip; we accept the gap
// for a path that is the same every time. The watchdog (watchdog.ts) covers what no event reports: a
// session that stays "connected" while nothing arrives. The pause before each attempt depends on how
// the last one ended (reconnect-policy.ts): every 0.5-2 s while nothing accepts TCP at the endpoint
// (each attempt starts with a bounded TCP probe, tcp-probe.ts), the configured exponential backoff
// when the server answered, so that the end of a plant outage costs at most a couple of seconds.
//
// Every session also reads the EURange of the tags whose percent deadband has no configured range
// (eu-range.ts), so a range changed on the server is picked up at the next reconnect.
//
// READ-ONLY BY CONSTRUCTION: see session.ts. Nothing here writes to the server.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { summarizeItemFailures } from './item-failures';
import { ConfigError } from '../errors';
import type { CollectorConfig } from '../config-types';
import { type EuRangeSink, needsEuRange } from '../eu-range';
import type { CredentialSource, Credentials, Logger, OpcUaSource, OperatorProblem, SampleSink, SourceCounters, SourceState } from '../ports';
import { Backoff } from '../../../../shared/backoff';
import type { TimestampReport } from './subscription';
import { ensureClientCertificate, type ClientIdentity } from './certificates';
import { readEuRanges } from './eu-range';
import { ConnectFailure, OpcUaConnection, messageOf, withTimeout } from './session';
import { needsNamespaces } from './node-ids';
import { SampleDispatcher, retargetItems, subscribeTags, type ItemFailure, type SubscribeResult } from './subscription';
import { expectsData, watchConnection } from './watchdog';
import { ServerTrustPolicy, type TrustVerdict } from './trust';
import { type AttemptEnd, type RetryClass, classifyAttemptEnd, unreachableDelayMs } from './reconnect-policy';
import { probeTcp } from './tcp-probe';

/** A connect that has not produced a subscription by then is abandoned and retried, ms. */
const CONNECT_DEADLINE_MS = 60_000;
/** stop() waits this long by default for the connection to close before it returns anyway, ms. */
const STOP_TIMEOUT_MS = 5_000;
/** While the endpoint stays unreachable, one WARN line this often at most (the attempts between go to debug), ms. */
const UNREACHABLE_WARN_EVERY_MS = 60_000;

export interface NodeOpcUaSourceOptions {
  config: CollectorConfig;
  credentials: CredentialSource;
  sink: SampleSink;
  logger: Logger;
  /** The component's work folder; the client certificate lives in `<workDir>/pki`. */
  workDir: string;
  /** Uniform in [0, 1) for the backoff jitter; default Math.random. */
  random?: () => number;
  /**
   * Receives, once per session, the EURange of the tags whose percent deadband has no configured
   * range. Called from the event loop like the sink, never while the sink runs.
   */
  onEuRanges?: EuRangeSink;
  /**
   * Called when a problem that needs an operator appears (see OperatorProblem), and with undefined
   * when a connection succeeds after one. The source keeps retrying either way.
   */
  onProblem?: (problem: OperatorProblem | undefined) => void;
}

/** One connection's resources and the way to end it. */
interface Attempt {
  abort: AbortController;
  /** Resolves the attempt's "lost" promise: the channel dropped, the watchdog fired, or stop(). */
  end: (reason: string) => void;
  dispatcher?: SampleDispatcher;
  /** Set once subscribed: what a live mapping change adjusts. */
  live?: { connection: OpcUaConnection; subscribed: SubscribeResult; maxItemsPerCall: number; namespaces: readonly string[] };
  /** The watchdog re-reads what it expects after a live mapping change. */
  onRetarget?: () => void;
}

export class NodeOpcUaSource implements OpcUaSource {
  private config: CollectorConfig;
  private credentials: CredentialSource;
  private sink: SampleSink;
  private onEuRanges: EuRangeSink | undefined;
  /** The tags whose EURange each session reads. */
  private euRangeTargets: { tag: number; nodeId: string }[];
  private readonly logger: Logger;
  private readonly workDir: string;
  private trust: ServerTrustPolicy;
  private backoff: Backoff;
  private readonly c: SourceCounters = {
    notifications: 0,
    overflowLost: 0,
    reconnects: 0,
    connectFailures: 0,
    identityRejected: 0,
    certificateRejected: 0,
    clientCertificateRejected: 0,
    tagsWithoutSourceTimestamp: 0,
    tagsWithoutTimestamp: 0,
    samplesTimedByServer: 0,
    samplesTimedByArrival: 0,
    watchdogResets: 0,
    monitoredItemsFailed: 0,
  };
  private currentState: SourceState = 'stopped';
  private run: Promise<void> | undefined;
  private stopping = false;
  private attempt: Attempt | undefined;
  private wakeFromBackoff: (() => void) | undefined;
  private identity: ClientIdentity | undefined;
  /** Set after the server rejected the identity: the next attempt reads the secret again. */
  private refreshCredentials = false;
  /** Identity rejections since the last successful connection: the second one used a freshly read secret. */
  private identityRejectedInARow = 0;
  /** Refusals of the gateway's certificate since the last connection or other failure. */
  private clientRefusedInARow = 0;
  private currentProblem: OperatorProblem | undefined;
  private readonly onProblem: ((problem: OperatorProblem | undefined) => void) | undefined;
  private connectedOnce = false;
  /** Tags whose refusal by the server was already logged at warn; later refusals go to debug. */
  private readonly reportedItemFailures = new Set<number>();
  /** A live configuration change ended the connection: connect again without the backoff delay. */
  private reconnectNow = false;
  private readonly random: () => number;
  private lastDataAt: number | undefined;
  private lastAliveAt: number | undefined;
  private aliveAsOf: number | undefined;
  /** How the last attempt ended: decides the pause before the next one (reconnect-policy.ts). */
  private lastEnd: { retry: RetryClass; attemptMs: number } | undefined;
  /** The current run of unreachable attempts: when it began, how many, when it was last logged at WARN. */
  private unreachable: { since: number; attempts: number; warnedAt: number } | undefined;

  constructor(o: NodeOpcUaSourceOptions) {
    this.config = o.config;
    this.credentials = o.credentials;
    this.sink = o.sink;
    this.onEuRanges = o.onEuRanges;
    this.onProblem = o.onProblem;
    this.euRangeTargets = o.config.tags.flatMap((t, tag) => (needsEuRange(t) ? [{ tag, nodeId: t.nodeId }] : []));
    this.logger = o.logger;
    this.workDir = o.workDir;
    checkSecurity(o.config);
    this.trust = new ServerTrustPolicy(o.config.serverTrust);
    this.random = o.random ?? Math.random;
    this.backoff = new Backoff(o.config.reconnect, this.random);
  }

  get state(): SourceState {
    return this.currentState;
  }

  counters(): SourceCounters {
    return { ...this.c };
  }

  /** Date.now() of the last Publish response with data changes, on any connection; undefined before the first. */
  get lastDataReceivedAtMs(): number | undefined {
    return this.attempt?.dispatcher?.lastDataAtMs || this.lastDataAt;
  }

  /**
   * Date.now() of the last sign of life of the server, on any connection: a Publish response with
   * data changes or a keep-alive. Undefined before the first. In the gateway's clock: for the
   * metrics and for comparing with Date.now(), not for the keep-alive points (see aliveAsOfMs).
   */
  get lastAliveAtMs(): number | undefined {
    return this.attempt?.dispatcher?.lastAliveAtMs || this.lastAliveAt;
  }

  /**
   * Up to when, in the clock of the samples' source times, the server has vouched that no tag had
   * a change it did not deliver: the arrival of the newest complete Publish response (data or
   * keep-alive) received once every monitored item of its connection had reported, moved into the
   * source's clock (SampleDispatcher.aliveAsOfMs). Undefined before the first; kept while
   * disconnected (the claim stays true, it just stops moving). The runtime passes it to
   * CollectorPipeline.tick as `aliveAsOfMs`. Not the gateway's clock: keep-alive points sit among
   * points stamped with source times, and a source clock minutes off the gateway's would misplace
   * them (before the tag's last point, or after its next change).
   */
  get aliveAsOfMs(): number | undefined {
    const current = this.attempt?.dispatcher?.aliveAsOfMs;
    return current !== undefined && Number.isFinite(current) ? current : this.aliveAsOf;
  }

  /** The current problem that needs an operator; undefined once a connection succeeds. */
  get problem(): OperatorProblem | undefined {
    return this.currentProblem;
  }

  /** SHA-1 thumbprint of the client certificate (after start()). */
  get clientCertificateThumbprint(): string | undefined {
    return this.identity?.thumbprint;
  }

  async start(): Promise<void> {
    if (this.run) return;
    const endpoint = this.config.endpointUrl;
    this.identity = await ensureClientCertificate(this.workDir);
    this.logger.info(
      { thumbprint: this.identity.thumbprint, certificateFile: this.identity.certificateFile, applicationUri: this.identity.applicationUri, created: this.identity.created },
      'OPC UA client certificate: the server must trust this thumbprint',
    );
    if (this.config.securityMode === 'None') {
      this.logger.warn({ endpoint }, 'allowInsecure: connecting with SecurityMode None — no encryption, no signature, no server certificate check');
    } else if (this.trust.isEmpty) {
      this.logger.warn({ endpoint }, 'serverTrust is empty: every server certificate will be refused (its thumbprint is logged so it can be pinned)');
    }
    this.stopping = false;
    this.currentState = 'connecting';
    this.run = this.loop();
  }

  /**
   * Stops the source: no sample reaches the sink after this call returns its promise (synchronously),
   * then the session is closed, waiting at most `timeoutMs`. Resolves true when the session closed in
   * time, false when it was left behind (a server that does not answer: the process exits anyway).
   */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<boolean> {
    const run = this.run;
    if (!run) return true;
    this.stopping = true;
    // Synchronously: no sample reaches the sink from here on, even from a Publish response in flight.
    const attempt = this.attempt;
    if (attempt) {
      if (attempt.dispatcher) attempt.dispatcher.open = false;
      attempt.abort.abort();
      attempt.end('stopping');
    }
    this.wakeFromBackoff?.();
    const closed = await withTimeout(run, timeoutMs).then(
      () => true,
      (err: unknown) => {
        this.logger.warn({ endpoint: this.config.endpointUrl, err: messageOf(err), timeoutMs }, 'the OPC UA connection did not close in time; leaving it behind');
        return false;
      },
    );
    this.run = undefined;
    this.currentState = 'stopped';
    return closed;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.currentState = 'connecting';
      await this.connectAndServe();
      if (this.stopping) break;
      if (this.reconnectNow) {
        this.reconnectNow = false;
        continue;
      }
      this.currentState = 'backoff';
      const end = this.lastEnd ?? { retry: 'other', attemptMs: 0 };
      // Unreachable: a fast, jittered pace that does not grow (free for the server); else the
      // configured exponential backoff, which only those other failures advance.
      const delayMs = end.retry === 'unreachable' ? unreachableDelayMs(this.random(), end.attemptMs, this.config.reconnect.maxDelayMs) : this.backoff.next();
      const fields = { endpoint: this.config.endpointUrl, delayMs, retry: end.retry, attempt: this.backoff.attempts };
      // A long outage retries every second or two: only the first pause of a run is logged at info.
      if (end.retry === 'unreachable' && (this.unreachable?.attempts ?? 0) > 1) this.logger.debug(fields, 'reconnecting to the OPC UA server after a delay');
      else this.logger.info(fields, 'reconnecting to the OPC UA server after a delay');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wakeFromBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeFromBackoff = undefined;
    }
    this.currentState = 'stopped';
  }

  /** One connection, from connect to its end. Never throws. */
  private async connectAndServe(): Promise<void> {
    const endpoint = this.config.endpointUrl;
    let end!: (reason: string) => void;
    const ended = new Promise<string>((resolve) => (end = resolve));
    const attempt: Attempt = { abort: new AbortController(), end };
    this.attempt = attempt;
    const deadline = setTimeout(() => attempt.abort.abort(), CONNECT_DEADLINE_MS);
    const startedAt = Date.now();
    // Replaced by whatever ends this attempt; a failure that says nothing more is 'other'.
    this.lastEnd = { retry: 'other', attemptMs: 0 };
    try {
      const credentials = await this.readCredentials();
      if (!credentials || this.stopping) return;
      const opened = await this.open(credentials, attempt);
      if (!opened) return;
      const { connection, subscribed, connectedAt } = opened;
      clearTimeout(deadline);
      const reason = attempt.dispatcher
        ? await watchConnection({
            config: () => this.config,
            dispatcher: attempt.dispatcher,
            subscribed,
            connectedAt,
            ended,
            end: attempt.end,
            onHealthy: () => this.backoff.reset(),
            onReset: () => this.c.watchdogResets++,
            setOnRetarget: (fn) => (attempt.onRetarget = fn),
            logger: this.logger,
          })
        : 'no dispatcher';
      if (attempt.dispatcher) {
        const d = attempt.dispatcher;
        d.open = false;
        this.lastDataAt = d.lastDataAtMs || this.lastDataAt;
        this.lastAliveAt = d.lastAliveAtMs || this.lastAliveAt;
        if (Number.isFinite(d.aliveAsOfMs)) this.aliveAsOf = d.aliveAsOfMs;
      }
      this.endedAs({ kind: 'lost', message: reason }, startedAt);
      if (!this.stopping) this.logger.warn({ endpoint, reason }, 'disconnected from the OPC UA server');
      subscribed.subscription.detach();
      await connection.close();
      if (this.stopping) this.logger.info({ endpoint }, 'OPC UA session closed');
    } finally {
      clearTimeout(deadline);
      if (attempt.dispatcher) attempt.dispatcher.open = false;
      this.attempt = undefined;
      this.lastEnd = { retry: this.lastEnd?.retry ?? 'other', attemptMs: Date.now() - startedAt };
    }
  }

  /** Records how the current attempt ended (the pause before the next one depends on it). */
  private endedAs(e: AttemptEnd, startedAt: number): RetryClass {
    const retry = classifyAttemptEnd(e);
    this.lastEnd = { retry, attemptMs: Date.now() - startedAt };
    if (retry !== 'unreachable') this.unreachable = undefined;
    return retry;
  }

  /**
   * Logs an attempt that found nothing listening: the first of a run at WARN, then one WARN a minute
   * with the count (the attempts in between at debug), so an outage of hours does not flood the log.
   */
  private reportUnreachable(err: string): void {
    const now = Date.now();
    const run = (this.unreachable ??= { since: now, attempts: 0, warnedAt: 0 });
    run.attempts++;
    const fields = { endpoint: this.config.endpointUrl, err, attempts: run.attempts, unreachableForMs: now - run.since };
    if (run.attempts === 1 || now - run.warnedAt >= UNREACHABLE_WARN_EVERY_MS) {
      run.warnedAt = now;
      this.logger.warn(fields, 'the OPC UA server is unreachable (nothing accepts TCP at the endpoint); retrying every 0.5-2 s');
    } else {
      this.logger.debug(fields, 'the OPC UA server is still unreachable');
    }
  }

  private async readCredentials(): Promise<Credentials | undefined> {
    try {
      const credentials = await this.credentials.get({ refresh: this.refreshCredentials });
      this.refreshCredentials = false;
      return credentials;
    } catch (err) {
      this.c.connectFailures++;
      this.endedAs({ kind: (err as { retryable?: unknown }).retryable === false ? 'credentials' : 'other', message: messageOf(err) }, Date.now());
      // CredentialSource errors name the secret, never its value.
      this.logger.error({ endpoint: this.config.endpointUrl, err: messageOf(err) }, 'cannot read the OPC UA credentials');
      // Throttling or a network error passes by itself; a missing or malformed secret does not.
      if ((err as { retryable?: unknown }).retryable === false) {
        this.setProblem({ kind: 'credentials', fix: `${messageOf(err)}; the collector reads the secret again before every attempt` });
      }
      return undefined;
    }
  }

  /** Connects, creates the session and the subscription; undefined (logged, counted) on failure. */
  private async open(
    credentials: Credentials,
    attempt: Attempt,
  ): Promise<{ connection: OpcUaConnection; subscribed: SubscribeResult; connectedAt: number } | undefined> {
    const endpoint = this.config.endpointUrl;
    const identity = this.identity;
    if (!identity) return undefined;
    const startedAt = Date.now();
    const probe = await probeTcp(endpoint, attempt.abort.signal);
    if (!probe.ok) {
      if (this.stopping || attempt.abort.signal.aborted) return undefined;
      this.c.connectFailures++;
      const retry = this.endedAs({ kind: 'other', message: probe.message, code: probe.code, tcpConnectTimedOut: probe.timedOut }, startedAt);
      if (retry === 'unreachable') this.reportUnreachable(probe.message);
      else this.logger.warn({ endpoint, err: probe.message }, 'connecting to the OPC UA server failed');
      return undefined;
    }
    if (this.unreachable) {
      this.logger.info({ endpoint, unreachableForMs: Date.now() - this.unreachable.since, attempts: this.unreachable.attempts }, 'the OPC UA server is reachable again');
      this.unreachable = undefined;
    }
    let connection: OpcUaConnection;
    try {
      connection = await OpcUaConnection.open({
        endpointUrl: endpoint,
        securityMode: this.config.securityMode,
        securityPolicy: this.config.securityPolicy,
        pkiDir: identity.pkiDir,
        applicationUri: identity.applicationUri,
        trust: this.trust,
        onVerdict: (v) => this.onVerdict(v),
        credentials,
        onLost: attempt.end,
        signal: attempt.abort.signal,
      });
    } catch (err) {
      if (this.stopping) return undefined;
      this.c.connectFailures++;
      const kind = err instanceof ConnectFailure ? err.kind : 'other';
      const retry = this.endedAs({ kind, message: messageOf(err) }, startedAt);
      if (kind === 'identity') {
        this.c.identityRejected++;
        this.refreshCredentials = true;
        // The first rejection may be a rotation the cached secret missed; the second came from a
        // secret read afresh, so the secret or the server's user must change.
        if (++this.identityRejectedInARow >= 2) {
          this.setProblem({
            kind: 'identity',
            fix: `put the right {"username","password"} in secret ${this.config.credentialsSecretId}, or enable user "${credentials.username}" on the OPC UA server`,
          });
        }
        this.logger.error(
          {
            endpoint,
            username: credentials.username,
            err: messageOf(err),
            secretId: this.config.credentialsSecretId,
            fix: 'put the right {"username","password"} in the secret, or enable the user on the OPC UA server; the collector re-reads the secret before every attempt',
          },
          'the OPC UA server rejected the user identity; reading the secret again (it may have been rotated) before the next attempt',
        );
      } else if (kind === 'client-certificate') {
        this.onClientCertificateRefused(err as ConnectFailure);
      } else if (retry === 'unreachable') {
        // The server went between the probe and the connect.
        this.reportUnreachable(messageOf(err));
      } else if (kind !== 'certificate') {
        // A refused certificate was logged (with its thumbprint) by onVerdict.
        this.logger.warn({ endpoint, err: messageOf(err), retry }, 'connecting to the OPC UA server failed');
      }
      if (kind !== 'client-certificate') this.clientRefusedInARow = 0;
      return undefined;
    }
    if (this.stopping) {
      await connection.close();
      return undefined;
    }
    const namespaces = await this.namespacesOf(connection, this.config);
    const dispatcher = new SampleDispatcher(this.sink, this.c, this.config.tags.length, this.config.sampling.maxNotificationsPerPublish, {
      intervalMs: this.config.sampling.intervalMs,
      onTimestampsMissing: (r) => this.warnTimestamps(r),
    });
    // Per connection: the counts describe the tags of the current session.
    this.c.tagsWithoutSourceTimestamp = 0;
    this.c.tagsWithoutTimestamp = 0;
    attempt.dispatcher = dispatcher;
    // Sent before the subscription and not awaited: data never waits for it. The answer normally
    // arrives long before the first Publish response, so the first points already carry the
    // resolved deadband; until it does (or if it never does) those tags send every change.
    if (this.onEuRanges && this.euRangeTargets.length > 0) void this.fetchEuRanges(connection, dispatcher, namespaces);
    let subscribed: SubscribeResult;
    let maxItemsPerCall: number;
    try {
      maxItemsPerCall = await connection.maxMonitoredItemsPerCall();
      subscribed = await subscribeTags({ session: connection.session, config: this.config, maxItemsPerCall, dispatcher, logger: this.logger, onLost: attempt.end, namespaces });
    } catch (err) {
      dispatcher.open = false;
      await connection.close();
      if (this.stopping) return undefined;
      this.c.connectFailures++;
      const retry = this.endedAs({ kind: 'subscribe', message: messageOf(err) }, startedAt);
      this.logger.warn({ endpoint, err: messageOf(err), retry }, 'creating the OPC UA subscription failed');
      return undefined;
    }
    if (this.stopping) {
      dispatcher.open = false;
      subscribed.subscription.detach();
      await connection.close();
      return undefined;
    }
    attempt.live = { connection, subscribed, maxItemsPerCall, namespaces };
    this.reportItemFailures(subscribed.failures);
    // Only keep-alives show a quiet plant is alive: fewer than two per timeout, and one late keep-alive resets the session.
    const timeoutMs = this.config.watchdog.noDataTimeoutMs;
    if (!expectsData(this.config, subscribed) && subscribed.monitored > 0 && !(subscribed.keepAliveMs * 2 <= timeoutMs)) {
      this.logger.warn(
        { endpoint, keepAliveMs: subscribed.keepAliveMs, noDataTimeoutMs: timeoutMs, fix: `set watchdog.noDataTimeoutMs to at least ${3 * subscribed.keepAliveMs}` },
        'the subscription keep-alive (as the server revised it) is more than half of watchdog.noDataTimeoutMs: a quiet plant may be taken for a silent session',
      );
    }
    if (this.connectedOnce) this.c.reconnects++;
    this.connectedOnce = true;
    this.identityRejectedInARow = 0;
    this.clientRefusedInARow = 0;
    this.setProblem(undefined);
    this.currentState = 'connected';
    this.logger.info(
      {
        endpoint,
        securityMode: this.config.securityMode,
        securityPolicy: this.config.securityPolicy,
        monitored: subscribed.monitored,
        failed: subscribed.failures.length,
        createMonitoredItemsCalls: subscribed.calls,
        itemsPerCall: subscribed.itemsPerCall,
        keepAliveMs: subscribed.keepAliveMs,
        reconnects: this.c.reconnects,
      },
      'connected to the OPC UA server and subscribed',
    );
    return { connection, subscribed, connectedAt: Date.now() };
  }

  /**
   * One line for every set of refusals, never one per tag (item-failures.ts): a WARN when tags are
   * refused that were not before, a debug line when the same ones are refused again (a reconnect).
   */
  private reportItemFailures(failures: readonly ItemFailure[]): void {
    this.c.monitoredItemsFailed = failures.length;
    const summary = summarizeItemFailures(failures, (tag) => this.config.tags[tag]?.name);
    this.c.monitoredItemsFailedByReason = summary.byReason;
    if (failures.length === 0) return;
    const fresh = failures.filter((f) => !this.reportedItemFailures.has(f.tag));
    for (const f of fresh) this.reportedItemFailures.add(f.tag);
    const fields = { endpoint: this.config.endpointUrl, ...summary, fix: 'run check-mapping on this configuration (docs/tools.md)' };
    const what = `the OPC UA server refused to monitor ${failures.length} tag${failures.length === 1 ? '' : 's'}; the other tags keep working`;
    if (fresh.length > 0) this.logger.warn({ ...fields, newlyRefused: fresh.length }, what);
    else this.logger.debug(fields, `${what} (refused as before)`);
  }

  /**
   * A live configuration change; `sink` receives every sample from now on, numbered by the new tag
   * list. With `reconnect` (server, security, identity, sampling changed) the session is closed and
   * opened again at once with the new settings. Otherwise the monitored items of the existing
   * subscription are adjusted: kept nodes keep delivering, removed ones are deleted, new ones are
   * created. A connection still being opened is restarted with the new settings, and a failed
   * adjustment falls back to a new connection: the new tag list always ends up monitored.
   */
  async reconfigure(config: CollectorConfig, sink: SampleSink, o: { reconnect: boolean; credentials?: CredentialSource }): Promise<void> {
    checkSecurity(config);
    this.config = config;
    this.sink = sink;
    if (o.credentials) this.credentials = o.credentials;
    this.euRangeTargets = config.tags.flatMap((t, tag) => (needsEuRange(t) ? [{ tag, nodeId: t.nodeId }] : []));
    this.reportedItemFailures.clear();
    const attempt = this.attempt;
    const live = attempt?.live;
    if (o.reconnect || (attempt && !live)) {
      this.trust = new ServerTrustPolicy(config.serverTrust);
      this.backoff = new Backoff(config.reconnect, this.random);
      this.restartConnection(o.reconnect ? 'the configuration changed (server, security, identity or sampling)' : 'the tag list changed while connecting');
      return;
    }
    if (!attempt || !live || !attempt.dispatcher) return; // between connections: the next one uses the new settings
    try {
      if (live.namespaces.length === 0) live.namespaces = await this.namespacesOf(live.connection, config);
      const r = await retargetItems({
        session: live.connection.session,
        subscription: live.subscribed.subscription.subscription,
        items: live.subscribed.items,
        config,
        sink,
        dispatcher: attempt.dispatcher,
        maxItemsPerCall: live.maxItemsPerCall,
        logger: this.logger,
        namespaces: live.namespaces,
      });
      live.subscribed.monitored = live.subscribed.items.length;
      live.subscribed.failures = r.failures;
      attempt.onRetarget?.();
      this.reportItemFailures(r.failures);
      this.logger.info({ endpoint: config.endpointUrl, kept: r.kept, added: r.added, removed: r.removed, failed: r.failures.length }, 'monitored items adjusted to the new tag list on the existing session');
      if (this.onEuRanges && this.euRangeTargets.length > 0) void this.fetchEuRanges(live.connection, attempt.dispatcher, live.namespaces);
    } catch (err) {
      this.logger.warn({ endpoint: config.endpointUrl, err: messageOf(err) }, 'adjusting the monitored items failed; reconnecting with the new tag list');
      this.restartConnection('adjusting the monitored items failed');
    }
  }

  /** Ends the current connection (its samples reach nothing more) and connects again without delay. */
  private restartConnection(reason: string): void {
    const attempt = this.attempt;
    this.reconnectNow = attempt !== undefined;
    if (attempt) {
      if (attempt.dispatcher) attempt.dispatcher.open = false;
      attempt.abort.abort();
      attempt.end(reason);
    }
    this.wakeFromBackoff?.();
  }

  /**
   * The server's NamespaceArray when a tag names its namespace by URI (`nsu=`), else nothing. A
   * failed read is logged; those tags are then refused one by one, the others keep working.
   */
  private async namespacesOf(connection: OpcUaConnection, config: CollectorConfig): Promise<readonly string[]> {
    if (!needsNamespaces(config.tags.map((t) => t.nodeId))) return [];
    try {
      return await connection.session.readNamespaceArray();
    } catch (err) {
      this.logger.warn({ endpoint: config.endpointUrl, err: messageOf(err) }, 'cannot read the server NamespaceArray: tags written with nsu= cannot be monitored on this connection');
      return [];
    }
  }

  /** Reads this session's EURanges and hands them on while the connection is still the current one. Never throws. */
  private async fetchEuRanges(connection: OpcUaConnection, dispatcher: SampleDispatcher, namespaces: readonly string[]): Promise<void> {
    const endpoint = this.config.endpointUrl;
    const config = this.config;
    try {
      const limits = await connection.euRangeLimits();
      const r = await readEuRanges(connection.session, this.euRangeTargets, limits, namespaces);
      // The connection ended meanwhile: the next one reads them again. A live mapping change
      // renumbered the tags: the change itself asked for them again.
      if (!dispatcher.open || this.stopping || this.config !== config) return;
      const fields = { endpoint, tags: this.euRangeTargets.length, answered: r.readings.length, translateCalls: r.translateCalls, readCalls: r.readCalls, ...limits };
      if (r.error === undefined) this.logger.debug(fields, 'read the EURange of the percent-deadband tags');
      else {
        this.logger.warn(
          { ...fields, unanswered: r.unanswered.length, err: r.error },
          'reading the EURange of percent-deadband tags failed; the tags without an answer send every change until the next connection reads it',
        );
      }
      if (r.readings.length > 0) this.onEuRanges?.(r.readings);
    } catch (err) {
      this.logger.error({ endpoint, err: messageOf(err) }, 'applying the EURange of percent-deadband tags failed; those tags send every change');
    }
  }

  /** The one line per session about tags whose server sends no source timestamp (subscription.ts reports it). */
  private warnTimestamps(r: TimestampReport): void {
    const names = (tags: number[]) => tags.slice(0, 10).map((t) => this.config.tags[t]?.name ?? `#${t}`);
    this.logger.warn(
      {
        endpoint: this.config.endpointUrl,
        tagsWithoutSourceTimestamp: r.withoutSource.length,
        tagsWithoutTimestamp: r.withoutAny.length,
        examples: names(r.withoutSource),
        fix: 'enable source timestamps for these tags on the OPC UA server (or its device driver); until then their samples are timed by the server timestamp, or on arrival spread by the sampling interval (docs/collector.md)',
      },
      `${r.withoutSource.length} tag(s) get no source timestamp from the OPC UA server (${r.withoutAny.length} of them no timestamp at all): their samples are timed by the server timestamp or on arrival`,
    );
  }

  /**
   * The server refused the gateway's certificate. A named certificate status is certain at once; a
   * socket closed during the handshake (open62541's answer) only the second time in a row, since
   * a server going down mid-handshake looks the same once. One ERROR line per episode, with the
   * thumbprint and subject to trust; the source keeps retrying, and the first connection ends it.
   */
  private onClientCertificateRefused(err: ConnectFailure): void {
    const endpoint = this.config.endpointUrl;
    this.c.clientCertificateRejected++;
    const inARow = ++this.clientRefusedInARow;
    if (!err.certain && inARow < 2) {
      this.logger.warn({ endpoint, err: err.message }, 'connecting to the OPC UA server failed');
      return;
    }
    if (this.currentProblem?.kind === 'client-certificate') {
      this.logger.debug({ endpoint, err: err.message }, 'the OPC UA server still refuses the gateway certificate');
      return;
    }
    const thumbprint = this.identity?.thumbprint ?? '?';
    const subject = this.clientSubject;
    const fix = `trust this certificate on the server: thumbprint ${thumbprint}, subject ${subject}, file ${this.identity?.certificateFile ?? '?'} (move it from the server's rejected to its trusted certificates); the collector keeps retrying and recovers by itself`;
    this.setProblem({ kind: 'client-certificate', fix });
    this.logger.error(
      { endpoint, thumbprint, subject, certificateFile: this.identity?.certificateFile, err: err.message, fix },
      `the OPC UA server does not trust the gateway's certificate (thumbprint ${thumbprint}, subject ${subject}); trust this certificate on the server: ${err.message}`,
    );
  }

  /** The subject of the gateway's certificate, as the server's is printed (trust.ts). */
  private get clientSubject(): string {
    try {
      const file = this.identity?.certificateFile;
      return file ? new X509Certificate(readFileSync(file)).subject.replace(/\n/g, ', ') : '?';
    } catch {
      return '(unreadable certificate)';
    }
  }

  private setProblem(p: OperatorProblem | undefined): void {
    if (p?.kind === this.currentProblem?.kind) return;
    this.currentProblem = p;
    this.onProblem?.(p);
  }

  private onVerdict(v: TrustVerdict): void {
    const endpoint = this.config.endpointUrl;
    if (v.accepted) {
      this.logger.debug({ endpoint, thumbprint: v.thumbprint, subject: v.subject, trustedBy: v.how }, 'server certificate trusted');
      return;
    }
    this.c.certificateRejected++;
    this.setProblem({
      kind: 'certificate',
      fix: `if this is the plant's server, add thumbprint ${v.thumbprint} to serverTrust.thumbprints (a configuration update applies it without a restart)`,
    });
    this.logger.error(
      { endpoint, thumbprint: v.thumbprint, subject: v.subject, reason: v.reason },
      `server certificate refused (thumbprint ${v.thumbprint}, subject ${v.subject}); if this is the plant's server, add the thumbprint to serverTrust.thumbprints`,
    );
  }
}

/** The security settings a source refuses to start with; the config parser should have caught them already. */
function checkSecurity(config: CollectorConfig): void {
  const insecureMode = config.securityMode === 'None';
  const insecurePolicy = config.securityPolicy === 'None';
  if ((insecureMode || insecurePolicy) && !config.allowInsecure) {
    throw new ConfigError([
      { path: '/securityMode', message: 'SecurityMode/SecurityPolicy None requires allowInsecure', fix: 'use SignAndEncrypt with Basic256Sha256, or set allowInsecure: true knowingly' },
    ]);
  }
  if (insecureMode !== insecurePolicy) {
    throw new ConfigError([
      { path: '/securityPolicy', message: `securityMode ${config.securityMode} cannot be used with securityPolicy ${config.securityPolicy}`, fix: 'use None with None, or Sign/SignAndEncrypt with a real policy' },
    ]);
  }
}
