// check-mapping's OPC UA half: the collector's own client certificate, trust policy and connection
// (OpcUaConnection), the user from the environment or the collector's Secrets Manager secret, then
// the probes and the report. Every step is bounded: connecting by --timeout-ms, each request by the
// connection's transaction timeout, the test subscription's wait by a few publishing intervals.
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerCredentialSource } from '../credentials';
import { endpointHostPort } from '../config-rules';
import type { CollectorConfig } from '../config-types';
import type { Credentials } from '../ports';
import { ensureClientCertificate, type ClientIdentity } from '../opcua/certificates';
import { ConnectFailure, OpcUaConnection, messageOf, withTimeout } from '../opcua/session';
import { ServerTrustPolicy, type TrustVerdict } from '../opcua/trust';
import { EXIT_OK, EXIT_PROBLEMS, PASSWORD_ENV, UsageError } from './args';
import type { IdentitySource } from './check-mapping';
import type { ToolIo } from './io';
import { limitOf, probeTags, readServerLimits, type ServerLimit } from './mapping-probe';
import { formatFindings, formatLimits, formatSummary, formatTagTable, type MappingReport } from './mapping-report';
import { probeSubscription } from './mapping-subscription';
import { checkTag, type Finding } from './mapping-verdict';

export interface CheckMappingOptions {
  config: CollectorConfig;
  workDir: string;
  identity: IdentitySource;
  io: ToolIo;
  timeoutMs: number;
}

export async function checkMappingOnServer(o: CheckMappingOptions): Promise<number> {
  const c = o.config;
  const say = (...lines: string[]): void => void o.io.stdout.write(lines.join('\n') + '\n');
  say(`check-mapping: ${c.tags.length} tag${c.tags.length === 1 ? '' : 's'} of mapping ${c.mappingVersion} on ${c.endpointUrl} (${c.securityMode}/${c.securityPolicy})`);

  const client = await clientCertificate(o.workDir);
  say(`client certificate  ${client.thumbprint}  ${client.created ? 'created' : 'reused'} in ${client.pkiDir}; the server must trust it`);

  const credentials = await readCredentials(o, say);
  if (!credentials) return EXIT_PROBLEMS;

  let verdict: TrustVerdict | undefined;
  let lost: string | undefined;
  let connection: OpcUaConnection;
  try {
    connection = await OpcUaConnection.open({
      endpointUrl: c.endpointUrl,
      securityMode: c.securityMode,
      securityPolicy: c.securityPolicy,
      pkiDir: client.pkiDir,
      applicationUri: client.applicationUri,
      trust: new ServerTrustPolicy(c.serverTrust),
      onVerdict: (v) => (verdict = v),
      credentials,
      onLost: (reason) => (lost ??= reason),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (err) {
    say('', ...(await describeConnectFailure(err, verdict, client, o)));
    return EXIT_PROBLEMS;
  }
  try {
    if (verdict?.accepted) say(`server certificate  ${verdict.thumbprint}  trusted (${TRUSTED_BY[verdict.how]}), subject ${verdict.subject}`);
    else if (c.securityMode === 'None') say('server certificate  not checked: securityMode None (allowInsecure), the channel is neither signed nor encrypted');
    // The server opened a signed channel with the gateway's certificate: it trusts it (a refusal is reported above).
    if (c.securityMode !== 'None') say(`gateway certificate ${client.thumbprint}  trusted by the server (it opened the secure channel)`);
    const limits = await readServerLimits(connection.session);
    const facts = await probeTags(connection.session, c, limits);
    const waitMs = 2 * c.sampling.publishingIntervalMs + 2_000;
    const sub = await probeSubscription(connection.session, c, limitOf(limits, 'MaxMonitoredItemsPerCall'), waitMs);
    facts.forEach((f, i) => {
      const s = sub.perTag[i];
      if (s?.monitored) f.monitored = s.monitored;
      if (s?.firstValue) f.value = s.firstValue;
      else if (s?.monitored?.ok) f.noSampleWithinMs = waitMs;
    });
    const report: MappingReport = {
      config: c,
      tags: c.tags.map((tag, i) => ({ tag, facts: facts[i]!, check: checkTag(tag, i, facts[i]!, c.sampling.intervalMs) })),
      limits,
      serverFindings: serverFindings(c, limits, sub.error, lost),
      subscription: { calls: sub.calls, itemsPerCall: sub.itemsPerCall, deleted: sub.deleted },
    };
    say('', formatTagTable(report));
    const findings = formatFindings(report);
    if (findings.length > 0) say('', 'Findings:', ...findings);
    say('', 'Server limits (OperationLimits and ServerCapabilities):', ...formatLimits(limits));
    if (!sub.error) {
      say(
        `Test subscription: ${sub.calls} CreateMonitoredItems request${sub.calls === 1 ? '' : 's'} of up to ${sub.itemsPerCall} items, as the collector sends them; ` +
          `${sub.deleted ? 'deleted with DeleteSubscriptions' : 'deleted when the session closed'}.`,
      );
    }
    for (const n of sub.notes) say(`  note: ${n}`);
    say('', formatSummary(report));
    const failed = report.tags.some((t) => t.check.verdict === 'FAIL') || report.serverFindings.some((f) => f.level === 'problem');
    return failed ? EXIT_PROBLEMS : EXIT_OK;
  } finally {
    await connection.close();
  }
}

/** The collector's client certificate in `<workDir>/pki`, created on the first run. A folder that cannot be used is a usage error. */
async function clientCertificate(workDir: string): Promise<ClientIdentity> {
  try {
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    return await ensureClientCertificate(workDir);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(
      `cannot keep the client certificate in ${workDir} (${code ?? messageOf(err)}): run as the folder's owner (on a gateway, sudo -u ggc_user for the collector's work folder), or give --work-dir a folder you may write`,
    );
  }
}

const TRUSTED_BY = { thumbprint: 'pinned thumbprint', certificate: 'pinned certificate', issuer: 'issued by a pinned CA' } as const;

async function readCredentials(o: CheckMappingOptions, say: (...lines: string[]) => void): Promise<Credentials | undefined> {
  const id = o.identity;
  if (id.kind === 'env') {
    say(`identity            user "${id.username}", password from ${PASSWORD_ENV}`);
    return { username: id.username, password: id.password };
  }
  const secretId = o.config.credentialsSecretId;
  // With --region the client is ours to destroy; otherwise the source creates and closes its own.
  const client = id.region !== undefined ? new SecretsManagerClient({ region: id.region }) : undefined;
  const source = new SecretsManagerCredentialSource(client ? { secretId, client } : { secretId });
  try {
    const credentials = await withTimeout(source.get({ refresh: true }), o.timeoutMs);
    say(`identity            user "${credentials.username}", from the Secrets Manager secret "${secretId}"`);
    return credentials;
  } catch (err) {
    // CredentialsError messages name the secret and the fix, never its value.
    say('', `CANNOT READ THE OPC UA USER: ${messageOf(err)}`, `  fix: give --username with ${PASSWORD_ENV} instead, or AWS credentials that may read the secret (AWS_PROFILE, AWS_REGION or --region)`);
    return undefined;
  } finally {
    source.close();
    client?.destroy();
  }
}

async function describeConnectFailure(err: unknown, verdict: TrustVerdict | undefined, client: ClientIdentity, o: CheckMappingOptions): Promise<string[]> {
  const c = o.config;
  const kind = err instanceof ConnectFailure ? err.kind : 'other';
  if (kind === 'certificate' && verdict && !verdict.accepted) {
    return [
      `CONNECTION FAILED: the server certificate is not trusted (${verdict.reason})`,
      `  the server at ${c.endpointUrl} presented`,
      `    thumbprint  ${verdict.thumbprint}`,
      `    subject     ${verdict.subject}`,
      `  fix: if this is the plant's server (check the thumbprint with the OT team, on the server's own certificate screen), add "${verdict.thumbprint}" to serverTrust.thumbprints`,
    ];
  }
  // node-opcua's messages span lines and end in spaces.
  const message = messageOf(err).replace(/\s+/g, ' ').trim();
  if (kind === 'client-certificate') {
    let subject = '(unreadable)';
    try {
      subject = new X509Certificate(readFileSync(client.certificateFile)).subject.replace(/\n/g, ', ');
    } catch {
      // The thumbprint and the file name still identify it.
    }
    const certain = err instanceof ConnectFailure && err.certain;
    return [
      certain
        ? `CONNECTION FAILED: the server does not trust the gateway's certificate (${message})`
        : `CONNECTION FAILED: ${message}: the server most likely does not trust the gateway's certificate`,
      `  the gateway (this client) presented`,
      `    thumbprint  ${client.thumbprint}`,
      `    subject     ${subject}`,
      `    file        ${client.certificateFile}`,
      `  fix: trust this certificate on the server (the OT team moves it from the server's rejected to its trusted certificates); the collector recovers by itself once it is`,
    ];
  }
  if (kind === 'identity') {
    const fix =
      o.identity.kind === 'env'
        ? `check --username and ${PASSWORD_ENV}, and that the user is enabled on the server`
        : `put the right {"username","password"} in the secret "${c.credentialsSecretId}", or enable the user on the OPC UA server`;
    return [`CONNECTION FAILED: ${message}`, `  fix: ${fix}`];
  }
  return [`CONNECTION FAILED: ${message}`, `  fix: ${await connectHint(message, client, o)}`];
}

/** DNS answers within this, or the hint does without it. */
const DNS_TIMEOUT_MS = 3_000;

async function connectHint(message: string, client: ClientIdentity, o: CheckMappingOptions): Promise<string> {
  const c = o.config;
  const host = endpointHostPort(c.endpointUrl)?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const reach = 'check that the server runs at that port and that the firewall lets the gateway reach it (conduit egress-plan lists the flow)';
  if (/connect aborted|timed out/i.test(message)) return `no answer within ${o.timeoutMs} ms: ${reach}`;
  if (/Fail to connect|premature disconnection|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(message)) {
    // node-opcua hides the socket error; a name that does not resolve is the one cause worth telling apart.
    const resolves = host === undefined ? true : await withTimeout(lookup(host), DNS_TIMEOUT_MS).then(() => true, (e: unknown) => (e as { code?: string }).code !== 'ENOTFOUND');
    if (!resolves) return `the host name ${host} does not resolve: check endpointUrl and the gateway's DNS`;
    return `the server cannot be reached: ${reach}`;
  }
  if (/BadSecurityChecksFailed|BadCertificate/.test(message)) {
    return `the server refused this client: have the OT team trust the client certificate ${client.thumbprint} on the server (the file is ${client.certificateFile})`;
  }
  if (/Cannot find an Endpoint|BadSecurityPolicyRejected|BadSecurityModeRejected/i.test(message)) {
    return `the server offers no endpoint with ${c.securityMode}/${c.securityPolicy}: set securityMode and securityPolicy to a pair it offers (an OPC UA browser such as UaExpert lists them)`;
  }
  return `if the server refuses unknown clients, have the OT team trust the client certificate ${client.thumbprint} (${client.certificateFile}); otherwise check the endpoint and the server's log`;
}

function serverFindings(c: CollectorConfig, limits: readonly ServerLimit[], subscriptionError: string | undefined, lost: string | undefined): Finding[] {
  const out: Finding[] = [];
  const n = c.tags.length;
  for (const name of ['MaxMonitoredItemsPerSubscription', 'MaxMonitoredItems']) {
    const max = limitOf(limits, name);
    if (max > 0 && n > max) {
      out.push({ level: 'problem', what: `${name} is ${max}, and the collector monitors all ${n} tags in one subscription`, fix: 'split the tags over several collectors, or have the OT team raise the limit' });
    }
  }
  const minRate = limitOf(limits, 'MinSupportedSampleRate');
  if (minRate > c.sampling.intervalMs) {
    out.push({ level: 'warning', what: `MinSupportedSampleRate is ${minRate} ms, above sampling.intervalMs (${c.sampling.intervalMs})`, fix: 'expect the server to sample no faster than that' });
  }
  if (subscriptionError !== undefined) {
    out.push({ level: 'problem', what: `creating the subscription failed (${subscriptionError}); no tag could be monitored`, fix: 'check the server log; the collector would fail the same way' });
  }
  if (lost !== undefined) out.push({ level: 'problem', what: `the session was lost during the check (${lost})`, fix: 'run check-mapping again; the results above may be incomplete' });
  return out;
}
