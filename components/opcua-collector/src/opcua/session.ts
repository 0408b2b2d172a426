// One connection to the server: a fresh OPCUAClient, its secure channel and one session. Never
// reused after a failure: node-opcua's own reconnection is switched off (maxRetry 0) and the source
// builds a new connection instead (see source.ts for why), so every connection goes through the same
// steps: discovery → server certificate check → secure channel → session with the current identity.
//
// READ-ONLY BY CONSTRUCTION: this module and every other file under opcua/ use only
// GetEndpoints (inside connect), CreateSession/ActivateSession/CloseSession, Read,
// TranslateBrowsePathsToNodeIds, CreateSubscription/DeleteSubscriptions, CreateMonitoredItems,
// DeleteMonitoredItems (a live mapping change) and Publish. No code path here
// calls Write, Call, HistoryUpdate, or any node-management service; do not add one.
import {
  AttributeIds,
  type ClientSession,
  DataTypeExtractStrategy,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  UserTokenType,
  VariableIds,
} from 'node-opcua-client';
import type { SecurityMode, SecurityPolicyName } from '../config-types';
import type { Credentials } from '../ports';
import { APPLICATION_NAME, PinnedCertificateManager } from './certificates';
import type { ServerTrustPolicy, TrustVerdict } from './trust';

/** Asked of the server for a session; it may revise it. Long enough to ride out a publish gap. */
const SESSION_TIMEOUT_MS = 60_000;
/** A request unanswered this long fails: a hung server must not hang a connect or stop(). */
const TRANSACTION_TIMEOUT_MS = 15_000;
/** Each step of a close (CloseSession, disconnect) gets this long: a gone server must not hold up stop(). */
const CLOSE_STEP_TIMEOUT_MS = 2_000;

/** `certificate`: we refused the server's; `client-certificate`: the server refused ours (see CLIENT_CERTIFICATE_REFUSED). */
export type ConnectFailureKind = 'certificate' | 'client-certificate' | 'identity' | 'other';

/** Why a connection attempt failed; decides what the source does before the next one. */
export class ConnectFailure extends Error {
  readonly kind: ConnectFailureKind;
  /**
   * For `client-certificate`: false when the server gave no reason (it closed the socket during the
   * secure-channel handshake, as open62541 does), true when it named a certificate status.
   */
  readonly certain: boolean;

  constructor(kind: ConnectFailureKind, message: string, options?: { cause?: unknown; certain?: boolean }) {
    super(message, options);
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'ConnectFailure';
    this.kind = kind;
    this.certain = options?.certain ?? true;
  }
}

const IDENTITY_REJECTED = /BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/;
/**
 * The server refused the gateway's application certificate: node-opcua's server answers the
 * OpenSecureChannel with BadSecurityChecksFailed (it maps BadCertificateUntrusted to it), others
 * name the certificate status (BadCertificateUntrusted, …Revoked, …Invalid, …UriInvalid,
 * …TimeInvalid, …UseNotAllowed, issuer variants), in the channel or in CreateSession. Our own
 * refusal of the server's certificate is told apart before this (the trust verdict).
 */
const CLIENT_CERTIFICATE_REFUSED = /BadCertificate\w*|BadSecurityChecksFailed|BadNoValidCertificates/;
/**
 * node-opcua-client's message (client_base_impl.js) when the secure channel failed after the TCP
 * connection was accepted without the server saying why: what a server that drops an untrusted
 * client (open62541) looks like. A refused TCP connect reads differently (ECONNREFUSED).
 */
const CLOSED_DURING_HANDSHAKE = /may have been rejected by server/;

export interface OpenSessionOptions {
  endpointUrl: string;
  securityMode: SecurityMode;
  securityPolicy: SecurityPolicyName;
  pkiDir: string;
  applicationUri: string;
  trust: ServerTrustPolicy;
  /** Called with node-opcua's certificate verdict for this attempt (once per check). */
  onVerdict: (verdict: TrustVerdict) => void;
  credentials: Credentials;
  /** The channel or the session went away after the session was created. Called at most once. */
  onLost: (reason: string) => void;
  /** Aborts a connect in progress (stop(), or the source's connect deadline). */
  signal: AbortSignal;
}

/** A live client and session. `close()` is bounded and idempotent. */
export class OpcUaConnection {
  private closing: Promise<void> | undefined;
  private lost = false;

  private constructor(
    readonly client: OPCUAClient,
    readonly session: ClientSession,
    private readonly certificates: PinnedCertificateManager,
  ) {}

  /** Opens a connection; on failure everything it created is released and a ConnectFailure is thrown. */
  static async open(o: OpenSessionOptions): Promise<OpcUaConnection> {
    let rejectedBy: Extract<TrustVerdict, { accepted: false }> | undefined;
    const certificates = new PinnedCertificateManager(o.pkiDir, o.trust, (v) => {
      if (!v.accepted) rejectedBy = v;
      o.onVerdict(v);
    });
    const client = OPCUAClient.create({
      applicationName: APPLICATION_NAME,
      applicationUri: o.applicationUri,
      clientName: APPLICATION_NAME,
      clientCertificateManager: certificates,
      securityMode: toMessageSecurityMode(o.securityMode),
      securityPolicy: toSecurityPolicy(o.securityPolicy),
      endpointMustExist: false,
      // maxRetry 0: a failed connect fails now, and a lost channel is reported instead of repaired.
      connectionStrategy: { maxRetry: 0, initialDelay: 1_000, maxDelay: 2_000 },
      requestedSessionTimeout: SESSION_TIMEOUT_MS,
      defaultTransactionTimeout: TRANSACTION_TIMEOUT_MS,
      keepSessionAlive: false,
      // Do not read the server's type dictionaries at session start: the tags are scalars.
      dataTypeExtractStrategy: DataTypeExtractStrategy.Lazy,
    });
    let released: Promise<void> | undefined;
    const release = (): Promise<void> =>
      (released ??= (async () => {
        await withTimeout(client.disconnect(), CLOSE_STEP_TIMEOUT_MS).catch(() => undefined);
        await certificates.dispose().catch(() => undefined);
      })());
    // Disconnecting makes a pending connect() or createSession() fail at once.
    const abort = (): void => void release();
    if (o.signal.aborted) {
      await release();
      throw new ConnectFailure('other', 'connect aborted');
    }
    o.signal.addEventListener('abort', abort, { once: true });
    try {
      return await OpcUaConnection.establish(o, client, certificates, release, () => rejectedBy);
    } finally {
      o.signal.removeEventListener('abort', abort);
    }
  }

  private static async establish(
    o: OpenSessionOptions,
    client: OPCUAClient,
    certificates: PinnedCertificateManager,
    release: () => Promise<void>,
    rejection: () => Extract<TrustVerdict, { accepted: false }> | undefined,
  ): Promise<OpcUaConnection> {
    try {
      await client.connect(o.endpointUrl);
    } catch (err) {
      await release();
      const rejectedBy = rejection();
      if (o.signal.aborted && !rejectedBy) throw new ConnectFailure('other', 'connect aborted', { cause: err });
      if (rejectedBy) {
        throw new ConnectFailure('certificate', `server certificate ${rejectedBy.thumbprint} refused: ${rejectedBy.reason}`, { cause: err });
      }
      const msg = messageOf(err);
      if (o.securityMode !== 'None') {
        const status = CLIENT_CERTIFICATE_REFUSED.exec(msg)?.[0];
        if (status) throw new ConnectFailure('client-certificate', `the server refused the secure channel (${status})`, { cause: err });
        if (CLOSED_DURING_HANDSHAKE.test(msg)) {
          throw new ConnectFailure('client-certificate', 'the server closed the connection during the secure-channel handshake', { cause: err, certain: false });
        }
      }
      throw new ConnectFailure('other', `connect failed: ${msg}`, { cause: err });
    }
    let session: ClientSession;
    try {
      session = await client.createSession({ type: UserTokenType.UserName, userName: o.credentials.username, password: o.credentials.password });
    } catch (err) {
      await release();
      if (o.signal.aborted) throw new ConnectFailure('other', 'connect aborted', { cause: err });
      const msg = messageOf(err);
      const status = IDENTITY_REJECTED.exec(msg)?.[0];
      // node-opcua's messages name the status, never the password; keep only the status anyway.
      if (status) throw new ConnectFailure('identity', `the server rejected user "${o.credentials.username}" (${status})`);
      const refused = o.securityMode !== 'None' ? CLIENT_CERTIFICATE_REFUSED.exec(msg)?.[0] : undefined;
      if (refused) throw new ConnectFailure('client-certificate', `the server refused the session (${refused})`, { cause: err });
      throw new ConnectFailure('other', `CreateSession failed: ${msg}`, { cause: err });
    }
    if (o.signal.aborted) {
      await withTimeout(session.close(true), CLOSE_STEP_TIMEOUT_MS).catch(() => undefined);
      await release();
      throw new ConnectFailure('other', 'connect aborted');
    }
    const connection = new OpcUaConnection(client, session, certificates);
    const lose = (reason: string) => connection.reportLost(reason, o.onLost);
    client.on('connection_lost', () => lose('the secure channel was lost'));
    client.on('close', (err?: Error | null) => lose(err ? `the secure channel closed: ${err.message}` : 'the secure channel closed'));
    session.on('session_closed', (status) => lose(`the session was closed (${status.name})`));
    session.on('keepalive_failure', () => lose('session keep-alive failed'));
    return connection;
  }

  /** MaxMonitoredItemsPerCall from the server's OperationLimits; 0 when absent or unreadable (= no limit). */
  maxMonitoredItemsPerCall(): Promise<number> {
    return this.operationLimit(VariableIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall);
  }

  /** MaxNodesPerRead and MaxNodesPerTranslateBrowsePathsToNodeIds, for the EURange read; 0 = no limit. */
  async euRangeLimits(): Promise<{ maxNodesPerRead: number; maxNodesPerTranslate: number }> {
    const [maxNodesPerRead, maxNodesPerTranslate] = await Promise.all([
      this.operationLimit(VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead),
      this.operationLimit(VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds),
    ]);
    return { maxNodesPerRead, maxNodesPerTranslate };
  }

  /**
   * One value of the server's OperationLimits; 0 when absent or unreadable (= no limit). One node per
   * Read, so that the request itself can never exceed MaxNodesPerRead.
   */
  private async operationLimit(variableId: number): Promise<number> {
    try {
      const [dv] = await this.session.read([{ nodeId: variableId, attributeId: AttributeIds.Value }]);
      const v: unknown = dv?.value.value;
      return dv?.statusCode.isGood() && typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
    } catch {
      return 0;
    }
  }

  /** Closes the session and the channel; bounded, never throws, safe to call twice. */
  close(): Promise<void> {
    this.lost = true; // a deliberate close is not a loss
    this.closing ??= (async () => {
      await withTimeout(this.session.close(true), CLOSE_STEP_TIMEOUT_MS).catch(() => undefined);
      await withTimeout(this.client.disconnect(), CLOSE_STEP_TIMEOUT_MS).catch(() => undefined);
      await this.certificates.dispose().catch(() => undefined);
    })();
    return this.closing;
  }

  private reportLost(reason: string, onLost: (reason: string) => void): void {
    if (this.lost) return;
    this.lost = true;
    onLost(reason);
  }
}

export function toMessageSecurityMode(mode: SecurityMode): MessageSecurityMode {
  switch (mode) {
    case 'None':
      return MessageSecurityMode.None;
    case 'Sign':
      return MessageSecurityMode.Sign;
    case 'SignAndEncrypt':
      return MessageSecurityMode.SignAndEncrypt;
  }
}

export function toSecurityPolicy(policy: SecurityPolicyName): SecurityPolicy {
  switch (policy) {
    case 'None':
      return SecurityPolicy.None;
    case 'Basic256Sha256':
      return SecurityPolicy.Basic256Sha256;
    case 'Aes128_Sha256_RsaOaep':
      return SecurityPolicy.Aes128_Sha256_RsaOaep;
    case 'Aes256_Sha256_RsaPss':
      return SecurityPolicy.Aes256_Sha256_RsaPss;
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves or rejects with `p`, or rejects after `ms`; the timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
