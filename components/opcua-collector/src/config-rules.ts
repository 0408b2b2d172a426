// The collector configuration's rules that span several keys or need code (NodeId and URL syntax,
// certificates, topic limits). They run on the document after ajv has checked it and filled the
// defaults, and also when ajv found problems, so that one pass reports everything: every check
// therefore looks at a value's type before using it and skips what the schema already reported.
import { X509Certificate } from 'node:crypto';
import type { ConfigIssue } from './errors';
import { topicIssue } from '../../../shared/publish/topics';
import {
  PUBLISHING_INTERVAL_MAX_MS,
  PUBLISHING_INTERVAL_RECOMMENDED_MAX_MS,
  PUBLISHING_INTERVAL_RECOMMENDED_MIN_MS,
} from './config-schema';

/** AWS IoT Core: a thing name is at most 128 bytes; topics are checked with the longest one. */
export const IOT_THING_NAME_MAX_BYTES = 128;
/** The placeholders a topic template may hold. */
export const TOPIC_PLACEHOLDERS = ['thingName', 'site', 'area'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Which keys the engineer wrote, as opposed to defaults ajv filled in. */
export interface GivenKeys {
  securityMode: boolean;
  securityPolicy: boolean;
}

export function checkRules(doc: Obj, given: GivenKeys): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string, fix: string) => issues.push({ path, message, fix });
  checkEndpoint(doc, add);
  checkSecurity(doc, given, add);
  checkTrust(doc, add);
  const sampling = isObj(doc.sampling) ? doc.sampling : {};
  checkSampling(sampling, doc, add);
  if (Array.isArray(doc.tags)) checkTags(doc.tags, num(sampling.intervalMs), add);
  checkTopics(doc, add);
  checkBurst(isObj(doc.burst) ? doc.burst : {}, add);
  const reconnect = isObj(doc.reconnect) ? doc.reconnect : {};
  const initial = num(reconnect.initialDelayMs);
  const max = num(reconnect.maxDelayMs);
  if (initial !== undefined && max !== undefined && max < initial) {
    add('/reconnect/maxDelayMs', `is below reconnect.initialDelayMs (${max} < ${initial})`, `set it to at least ${initial}, e.g. 60000`);
  }
  return issues;
}

type Add = (path: string, message: string, fix: string) => void;

const ENDPOINT = /^opc\.tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?):([0-9]{1,5})(\/[^\s]*)?$/;

function checkEndpoint(doc: Obj, add: Add): void {
  const url = str(doc.endpointUrl);
  if (url === undefined || url === '') return; // the schema reported it
  const path = '/endpointUrl';
  const example = 'e.g. opc.tcp://plc.plant.local:4840';
  if (/^[a-z.]+:\/\/[^/]*@/i.test(url)) {
    // The message must not repeat the URL: it holds a password.
    add(path, 'holds a user name or password', 'remove them from the URL and put them in the Secrets Manager secret named by credentialsSecretId');
    return;
  }
  if (!url.startsWith('opc.tcp://')) {
    add(path, 'must start with opc.tcp:// (the only transport the collector speaks)', `set it to opc.tcp://host:port[/path], ${example}`);
    return;
  }
  const m = ENDPOINT.exec(url);
  if (!m) {
    const noPort = /^opc\.tcp:\/\/[^/:\]]+(\/|$)/.test(url);
    add(
      path,
      noPort ? 'has no port' : 'is not opc.tcp://host:port[/path]',
      noPort ? `add the port after the host, ${example} (4840 is the OPC UA default)` : `set it to opc.tcp://host:port[/path], ${example}`,
    );
    return;
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) add(path, `has port ${port}, outside 1-65535`, `use the server's port, ${example}`);
  checkAllowedEndpoint(doc, `${m[1]!.toLowerCase()}:${port}`, add);
}

/** host:port of an endpoint URL, lowercase, or undefined when it is not opc.tcp://host:port[/path]. */
export function endpointHostPort(url: string): string | undefined {
  const m = ENDPOINT.exec(url);
  return m ? `${m[1]!.toLowerCase()}:${Number(m[2])}` : undefined;
}

function checkAllowedEndpoint(doc: Obj, hostPort: string, add: Add): void {
  if (!Array.isArray(doc.allowedEndpoints)) return;
  const allowed = doc.allowedEndpoints.filter((e): e is string => typeof e === 'string').map((e) => e.trim().toLowerCase());
  allowed.forEach((e, i) => {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?):[0-9]{1,5}$/.test(e)) {
      add(`/allowedEndpoints/${i}`, `is not host:port ("${e}")`, 'write the server as host:port, e.g. plc.plant.local:4840');
    }
  });
  if (allowed.length > 0 && !allowed.includes(hostPort)) {
    add('/endpointUrl', `connects to ${hostPort}, which is not in allowedEndpoints (${allowed.join(', ')})`, 'use an allowed server, or have the OT network team add it to allowedEndpoints (and to the firewall) first');
  }
}

function checkSecurity(doc: Obj, given: GivenKeys, add: Add): void {
  const mode = str(doc.securityMode);
  const policy = str(doc.securityPolicy);
  if (mode === undefined || policy === undefined) return;
  if (policy === 'None' && !given.securityMode && given.securityPolicy) {
    add('/securityPolicy', 'is None while securityMode is SignAndEncrypt (the default)', 'set securityMode: None as well (with allowInsecure: true), or choose a policy such as Basic256Sha256');
    return;
  }
  if (mode === 'None' && policy !== 'None') {
    add('/securityPolicy', `is ${policy} while securityMode is None`, 'set securityPolicy to None, or set securityMode to SignAndEncrypt');
    return;
  }
  if (mode !== 'None' && policy === 'None') {
    add('/securityPolicy', `is None while securityMode is ${mode}`, 'set it to a policy such as Basic256Sha256 (what the server offers), or set securityMode to None');
    return;
  }
  if (mode === 'None' && doc.allowInsecure !== true) {
    add(
      '/allowInsecure',
      'must be true to use securityMode None: the session would be neither signed nor encrypted',
      'set securityMode to SignAndEncrypt (recommended), or set allowInsecure to true if the network is trusted',
    );
  }
}

/** SHA-1 thumbprints as the collector compares them: lowercase hex, no separators. */
export function normalizeThumbprint(t: string): string {
  return t.replace(/[:\s]/g, '').toLowerCase();
}

function checkTrust(doc: Obj, add: Add): void {
  const trust = isObj(doc.serverTrust) ? doc.serverTrust : undefined;
  if (!trust) return;
  const thumbprints = Array.isArray(trust.thumbprints) ? trust.thumbprints : [];
  const certificates = Array.isArray(trust.certificates) ? trust.certificates : [];
  thumbprints.forEach((t, i) => {
    if (typeof t !== 'string') return;
    const n = normalizeThumbprint(t);
    const path = `/serverTrust/thumbprints/${i}`;
    if (/^[0-9a-f]{64}$/.test(n)) {
      add(path, 'is a SHA-256 thumbprint (64 hex digits); the collector compares SHA-1', 'use the SHA-1 thumbprint (40 hex digits): connect once and copy the thumbprint the collector logs');
    } else if (!/^[0-9a-f]{40}$/.test(n)) {
      add(path, 'is not a SHA-1 thumbprint (40 hex digits)', 'connect once and copy the thumbprint the collector logs, e.g. 3f2a9c0e5b7d41a6c8e02f9b1d4a6c3e8f0b2d71');
    }
  });
  certificates.forEach((pem, i) => {
    if (typeof pem !== 'string') return;
    const path = `/serverTrust/certificates/${i}`;
    if (/PRIVATE KEY-----/.test(pem)) {
      add(path, 'holds a private key', 'remove the key from the configuration at once (and replace it: it has been exposed); only the certificate belongs here');
      return;
    }
    const count = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
    if (count !== 1) {
      add(path, count === 0 ? 'is not a PEM certificate' : `holds ${count} certificates`, 'give one PEM certificate per entry, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----');
      return;
    }
    try {
      new X509Certificate(pem);
    } catch {
      add(path, 'is not a readable PEM certificate', 'paste the whole certificate again, BEGIN and END lines included, keeping its line breaks');
    }
  });
  if (thumbprints.length + certificates.length === 0 && doc.allowInsecure !== true) {
    add(
      '/serverTrust',
      'holds no thumbprint or certificate, so no server would be trusted',
      "add the server certificate's SHA-1 thumbprint to serverTrust.thumbprints: connect once and copy the thumbprint the collector logs",
    );
  }
}

// Why 500-1000 ms: rms windows are 1 s and close on the runtime's 1 s tick, so samples must reach
// the collector within about a second or windows close before their last samples arrive. Below
// 500 ms the server answers more publish requests for no gain, and embedded PLC servers are the
// first to fall behind. A slow server may need more: allowAnyPublishingInterval is the explicit,
// reviewable opt-in, still bounded by the sampling interval below and 10 s above.
function checkSampling(sampling: Obj, doc: Obj, add: Add): void {
  const interval = num(sampling.intervalMs);
  const pub = num(sampling.publishingIntervalMs);
  if (interval === undefined || pub === undefined) return;
  if (sampling.allowAnyPublishingInterval === true) {
    if (pub < interval) {
      add('/sampling/publishingIntervalMs', `is below sampling.intervalMs (${pub} < ${interval})`, `set it to at least ${interval}, e.g. 1000`);
    }
  } else if (pub < PUBLISHING_INTERVAL_RECOMMENDED_MIN_MS || pub > PUBLISHING_INTERVAL_RECOMMENDED_MAX_MS) {
    add(
      '/sampling/publishingIntervalMs',
      `is ${pub}, outside ${PUBLISHING_INTERVAL_RECOMMENDED_MIN_MS}-${PUBLISHING_INTERVAL_RECOMMENDED_MAX_MS}`,
      `set it to a number between ${PUBLISHING_INTERVAL_RECOMMENDED_MIN_MS} and ${PUBLISHING_INTERVAL_RECOMMENDED_MAX_MS}, e.g. 1000, or set sampling.allowAnyPublishingInterval to true if the server cannot keep up (at most ${PUBLISHING_INTERVAL_MAX_MS})`,
    );
  }
  const needed = minQueueSize(interval, pub);
  const queue = num(sampling.queueSize);
  if (queue !== undefined && queue < needed) {
    add(
      '/sampling/queueSize',
      `is ${queue}, below 2 x ceil(publishingIntervalMs / intervalMs) = ${needed}: samples would be lost whenever one publish is late`,
      `set it to at least ${needed}, or remove it to use ${needed}`,
    );
  }
  const watchdog = isObj(doc.watchdog) ? num(doc.watchdog.noDataTimeoutMs) : undefined;
  if (watchdog !== undefined && watchdog < 2 * pub) {
    add('/watchdog/noDataTimeoutMs', `is ${watchdog}, below 2 x sampling.publishingIntervalMs (${2 * pub}): healthy sessions would be reset`, `set it to at least ${2 * pub}, e.g. 15000`);
  }
}

/** Two publishing intervals' worth of samples: one late publish response loses nothing. */
export function minQueueSize(intervalMs: number, publishingIntervalMs: number): number {
  return 2 * Math.ceil(publishingIntervalMs / intervalMs);
}

const NODE_ID = /^(?:(?:ns=([0-9]+)|nsu=([^;]+));)?([sigb])=(.+)$/s;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A NodeId in its string form (OPC UA Part 6, 5.3.1.10) as one canonical string, so that
 * `ns=03;i=7` and `ns=3;i=7` count as the same node; or an explanation of what is wrong. The
 * namespace may be left out for namespace 0 (`i=2258`), as the standard allows.
 */
export function canonicalNodeId(text: string): { ok: true; canonical: string } | { ok: false; why: string } {
  const m = NODE_ID.exec(text);
  if (!m) return { ok: false, why: 'is not a NodeId' };
  const [, ns, nsu, kind, id] = m as unknown as [string, string | undefined, string | undefined, string, string];
  if (ns !== undefined && Number(ns) > 65535) return { ok: false, why: `has namespace index ${ns}, above 65535` };
  const space = nsu !== undefined ? `nsu=${nsu}` : `ns=${Number(ns ?? 0)}`;
  switch (kind) {
    case 'i':
      if (!/^[0-9]+$/.test(id) || Number(id) > 0xffffffff) return { ok: false, why: 'has a numeric identifier (i=) that is not a whole number from 0 to 4294967295' };
      return { ok: true, canonical: `${space};i=${Number(id)}` };
    case 'g':
      if (!GUID.test(id)) return { ok: false, why: 'has a GUID identifier (g=) not in the form 72962b91-fa75-4ae6-8d28-b404dc7daf63' };
      return { ok: true, canonical: `${space};g=${id.toLowerCase()}` };
    case 'b':
      if (!BASE64.test(id) || id.length % 4 !== 0) return { ok: false, why: 'has an opaque identifier (b=) that is not base64' };
      return { ok: true, canonical: `${space};b=${id}` };
    default:
      return { ok: true, canonical: `${space};s=${id}` };
  }
}

function checkTags(tags: unknown[], samplingMs: number | undefined, add: Add): void {
  const names = new Map<string, number>();
  const nodes = new Map<string, number>();
  tags.forEach((tag, i) => {
    if (!isObj(tag)) return;
    const at = `/tags/${i}`;
    const name = str(tag.name);
    if (name) {
      const key = name.toLowerCase();
      const first = names.get(key);
      if (first === undefined) names.set(key, i);
      else add(`${at}/name`, `repeats the name of tags/${first} ("${name}"; names are compared ignoring case, as many cloud databases do)`, 'give every tag its own name');
    }
    const nodeId = str(tag.nodeId);
    if (nodeId) {
      const c = canonicalNodeId(nodeId.trim());
      if (!c.ok) {
        add(`${at}/nodeId`, c.why, 'write it as ns=<namespace index>;s=<name> (or i=, g=, b=), or nsu=<namespace URI>;s=<name>, e.g. ns=3;s=Line1.Vib01');
      } else {
        const first = nodes.get(c.canonical);
        if (first === undefined) nodes.set(c.canonical, i);
        else add(`${at}/nodeId`, `reads the same node as tags/${first}`, 'read each node once: remove this tag or correct its nodeId');
      }
    }
    checkTagMode(tag, at, samplingMs, add);
  });
}

function checkTagMode(tag: Obj, at: string, samplingMs: number | undefined, add: Add): void {
  const mode = str(tag.mode);
  if (mode === undefined) return; // missing or refused by the schema: nothing to check against
  if (mode === 'rms') {
    const w = num(tag.windowMs);
    if (w !== undefined && samplingMs !== undefined && (w < samplingMs || w % samplingMs !== 0)) {
      const lower = Math.max(samplingMs, Math.floor(w / samplingMs) * samplingMs);
      add(`${at}/windowMs`, `is ${w}, not a multiple of sampling.intervalMs (${samplingMs})`, `set it to a multiple of ${samplingMs}, e.g. ${lower}`);
    }
    if (tag.heartbeatMs !== undefined) add(`${at}/heartbeatMs`, 'applies only to deadband and change tags', 'remove it: an rms tag publishes every window');
  }
  if (mode !== 'deadband' && tag.deadband !== undefined) {
    add(`${at}/deadband`, `applies only to mode deadband (this tag's mode is ${mode})`, 'remove it, or set mode to deadband');
  }
  if (mode === 'deadband') checkDeadband(tag.deadband, `${at}/deadband`, add);
  const alarm = isObj(tag.alarm) ? tag.alarm : undefined;
  if (alarm) {
    const raise = num(alarm.raiseAt);
    const clear = num(alarm.clearBelow);
    if (raise !== undefined && clear !== undefined && clear > raise) {
      add(`${at}/alarm/clearBelow`, `is above raiseAt (${clear} > ${raise}): the alarm would never clear cleanly`, `set it to at most ${raise}, a little below it for hysteresis`);
    }
    if (mode === 'change') {
      add(`${at}/alarm`, 'applies only to numeric tags (mode rms or deadband); a change tag may carry text or booleans', 'remove it, or set the tag mode to rms or deadband');
    } else if (alarm.on === 'rms' && mode !== 'rms') {
      add(`${at}/alarm/on`, `is rms, but this tag's mode is ${mode}: only rms tags have an RMS`, 'set it to raw, or set the tag mode to rms');
    }
  }
}

function checkDeadband(deadband: unknown, path: string, add: Add): void {
  if (deadband === undefined) {
    add(path, 'is required for mode deadband', 'add deadband: {absolute: <engineering units>} or {percent: <0-100>}, e.g. {"absolute": 0.5}');
    return;
  }
  if (!isObj(deadband)) return;
  const hasAbs = deadband.absolute !== undefined;
  const hasPct = deadband.percent !== undefined;
  if (hasAbs === hasPct) {
    add(path, hasAbs ? 'sets both absolute and percent' : 'sets neither absolute nor percent', 'keep exactly one: absolute (engineering units) or percent (of the range), e.g. {"percent": 1}');
    return;
  }
  const hasMin = deadband.rangeMin !== undefined;
  const hasMax = deadband.rangeMax !== undefined;
  if (hasAbs && (hasMin || hasMax)) {
    add(`${path}/${hasMin ? 'rangeMin' : 'rangeMax'}`, 'applies only to a percent deadband', 'remove rangeMin and rangeMax, or use percent instead of absolute');
  } else if (hasMin !== hasMax) {
    add(`${path}/${hasMin ? 'rangeMax' : 'rangeMin'}`, `is missing while ${hasMin ? 'rangeMin' : 'rangeMax'} is set`, "set both rangeMin and rangeMax, or neither (the node's EURange is then read at start)");
  } else {
    const lo = num(deadband.rangeMin);
    const hi = num(deadband.rangeMax);
    if (lo !== undefined && hi !== undefined && !(lo < hi)) add(`${path}/rangeMax`, `is not above rangeMin (${hi} <= ${lo})`, 'set rangeMax above rangeMin, e.g. rangeMin 0 and rangeMax 150');
  }
}

function checkBurst(burst: Obj, add: Add): void {
  const pre = num(burst.preTriggerSec);
  const post = num(burst.postTriggerSec);
  const max = num(burst.maxCaptureSec);
  if (pre !== undefined && post !== undefined && max !== undefined && max < pre + post) {
    add('/burst/maxCaptureSec', `is shorter than preTriggerSec + postTriggerSec (${max} < ${pre + post})`, `set it to at least ${pre + post}`);
  }
  // Local pub/sub topics: Greengrass treats * (and MQTT's + and #) in a subscription as wildcards,
  // and the recipes name these topics exactly.
  for (const key of ['sinkTopic', 'sinkAckTopic'] as const) {
    const t = str(burst[key]);
    if (t !== undefined && /[*+#]/.test(t)) add(`/burst/${key}`, 'holds a wildcard (*, + or #)', 'name one topic, e.g. conduit/firehose-sink/put');
    else if (t !== undefined && /[\u0000-\u001f\u007f-\u009f]/.test(t)) add(`/burst/${key}`, 'contains a control character', 'remove it');
  }
  if (str(burst.sinkTopic) !== undefined && burst.sinkTopic === burst.sinkAckTopic) {
    add('/burst/sinkAckTopic', 'is the same topic as burst.sinkTopic', 'use the sink\'s ackTopic, e.g. conduit/firehose-sink/ack');
  }
}

function checkTopics(doc: Obj, add: Add): void {
  const publish = isObj(doc.publish) ? doc.publish : {};
  const metrics = isObj(doc.metrics) ? doc.metrics : {};
  const burst = isObj(doc.burst) ? doc.burst : {};
  const topics: [string, unknown][] = [
    ['/publish/topic', publish.topic],
    ['/publish/mappingTopic', publish.mappingTopic],
    ['/publish/auditTopic', publish.auditTopic],
    ['/metrics/topic', metrics.topic],
    ['/burst/alarmTopic', burst.alarmTopic],
  ];
  const seen = new Map<string, string>();
  for (const [path, value] of topics) {
    const t = str(value);
    if (!t) continue;
    checkTopic(t, path, str(doc.site) ?? '', str(doc.area) ?? '', add);
    const other = seen.get(t);
    if (other !== undefined) add(path, `is the same topic as ${other.slice(1).replace('/', '.')}`, 'give telemetry, mapping, metrics and alarm topics of their own, e.g. conduit/{thingName}/metrics');
    else seen.set(t, path);
  }
}

function checkTopic(template: string, path: string, site: string, area: string, add: Add): void {
  const fix = (what: string) => `${what}, e.g. conduit/{thingName}/telemetry`;
  if (template.includes('{iot:thingName}')) {
    add(path, 'uses the recipe variable {iot:thingName}', fix('write {thingName}: the collector replaces it itself'));
    return;
  }
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!).filter((p) => !(TOPIC_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length > 0) {
    add(path, `has unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `{${p}}`).join(', ')}`, fix('use only {thingName}, {site} and {area}'));
    return;
  }
  // The longest thing name stands in for {thingName}: a topic that fits for one gateway of the
  // fleet and not for another would fail only there. The rule is the shared one (both components).
  const filled = template.replace(/\{thingName\}/g, 'x'.repeat(IOT_THING_NAME_MAX_BYTES)).replace(/\{site\}/g, site).replace(/\{area\}/g, area);
  const issue = topicIssue(filled);
  if (issue === undefined) return;
  const counted = issue.message.startsWith('is ') && issue.message.includes('bytes') ? ` (counting a ${IOT_THING_NAME_MAX_BYTES}-byte thing name)` : '';
  add(path, issue.message + counted, issue.fix);
}
