// The network flows a conduit configuration implies, as data: what the OT network team must allow
// through the DMZ firewall (and nothing else). Pure: no file, network or clock; the command around
// it (egress-command.ts) reads the files and prints.
//
// The nucleus's own endpoints and ports are the Greengrass developer guide's "Allow device traffic
// through a proxy or firewall", endpoints for basic operation: greengrass-ats.iot.<region> (8443 or
// 443), the account's IoT data endpoint (MQTT 8883, or 443 with ALPN x-amzn-mqtt-ca), its
// credentials endpoint (443), and *.s3.amazonaws.com / *.s3.<region>.amazonaws.com (443) for
// artifacts. greengrass.<region>.amazonaws.com, iot.<region>, iam and sts appear there only for
// installation with automatic provisioning, so they are not run-time flows (see INSTALL_ONLY).
// The token exchange service binds 127.0.0.1 and ::1 only (nucleus tes/HttpServerImpl.java).
import type { SinkConfig } from '../../../firehose-sink/src/config';
import type { CollectorConfig } from '../config-types';
import { endpointHostPort } from '../config-rules';

export const COLLECTOR = 'conduit.OpcUaCollector';
/** Reads the OPC UA secret from the cloud for the collector when credentialsSource is greengrass. */
export const SECRET_MANAGER = 'aws.greengrass.SecretManager';
export const SINK = 'conduit.FirehoseSink';
export const NUCLEUS = 'Greengrass nucleus';
export const GATEWAY_OS = 'gateway OS';

export type FlowSource = typeof COLLECTOR | typeof SINK | typeof NUCLEUS | typeof GATEWAY_OS | typeof SECRET_MANAGER;
/** Where a flow goes, as a firewall sees it. `local` and `loopback` never leave the gateway. */
export type FlowZone = 'OT network' | 'AWS' | 'site DNS' | 'loopback' | 'local';

export interface Flow {
  from: FlowSource;
  zone: FlowZone;
  /** Host name, host pattern (`*.s3...`), or the local endpoint. */
  destination: string;
  /** TCP (or DNS) port; null for a Unix socket, or a loopback port the nucleus picks. */
  port: number | null;
  protocol: string;
  /** A few words for the firewall table. */
  purpose: string;
  /** What exactly goes over it, and when. */
  detail: string;
  /** Leaves the gateway: a firewall rule must allow it. */
  firewall: boolean;
}

export interface EgressInput {
  collector: CollectorConfig;
  /** The FirehoseSink configuration, when given. */
  sink?: SinkConfig;
  /** The nucleus's AWS Region; placeholders are printed when unknown. */
  region?: string;
  /** `aws iot describe-endpoint --endpoint-type iot:Data-ATS` */
  iotDataEndpoint?: string;
  /** `aws iot describe-endpoint --endpoint-type iot:CredentialProvider` */
  iotCredEndpoint?: string;
  /** The nucleus's mqtt.port: 8883 (default) or 443 (MQTT with ALPN). */
  mqttPort?: 8883 | 443;
  /** The nucleus's greengrassDataPlanePort: 8443 (default) or 443. */
  dataPlanePort?: 8443 | 443;
}

/** Endpoints the developer guide lists for installation only; printed as such, never as flows. */
export const INSTALL_ONLY: readonly { host: string; why: string }[] = [
  { host: 'iot.<region>.amazonaws.com', why: 'installation with automatic provisioning (creates the thing, certificate, policy)' },
  { host: 'iam.amazonaws.com', why: 'installation with automatic provisioning (creates the token exchange role)' },
  { host: 'sts.<region>.amazonaws.com', why: 'installation with automatic provisioning (gets the account id)' },
  { host: 'greengrass.<region>.amazonaws.com', why: 'installation with --deploy-dev-tools (deploys the Greengrass CLI)' },
  { host: 'data.iot.<region>.amazonaws.com', why: 'only a nucleus older than 2.4.0 behind a network proxy' },
];

/** The Region in an AWS IoT endpoint host name (`xxx-ats.iot.eu-west-1.amazonaws.com`), if any. */
export function regionOfEndpoint(host: string | undefined): string | undefined {
  return host === undefined ? undefined : /\.iot\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$/.exec(host.toLowerCase())?.[1];
}

/** True when the collector hands burst captures to the sink (the runtime's own condition, index.ts). */
export function capturesOn(c: CollectorConfig): boolean {
  return c.tags.some((t) => t.alarm !== undefined) && c.burst.maxCapturesPerHour > 0 && c.mode === 'active';
}

/** Every flow the configuration implies, outbound and local, in a fixed order. */
export function egressPlan(input: EgressInput): Flow[] {
  const c = input.collector;
  const region = input.region ?? '<region>';
  const captures = capturesOn(c);
  const sinkRuns = input.sink !== undefined || captures;
  const { host: opcHost, port: opcPort } = splitHostPort(endpointHostPort(c.endpointUrl) ?? '');
  const mqttPort = input.mqttPort ?? 8883;
  const dataPlanePort = input.dataPlanePort ?? 8443;
  const insecure = c.securityMode === 'None';
  const flows: Flow[] = [];

  flows.push({
    from: COLLECTOR,
    zone: 'OT network',
    destination: opcHost,
    port: opcPort,
    protocol: 'TCP (OPC UA binary, opc.tcp)',
    purpose: 'OPC UA session to the plant server',
    detail:
      `GetEndpoints, then one ${insecure ? 'UNENCRYPTED (securityMode None, allowInsecure)' : `${c.securityMode}/${c.securityPolicy}`} session to ${c.endpointUrl}; ` +
      `Read, TranslateBrowsePaths and one subscription of ${c.tags.length} tag${c.tags.length === 1 ? '' : 's'}, nothing else (never Write, Call or HistoryUpdate)`,
    firewall: true,
  });
  // credentialsSource greengrass: the nucleus's SecretManager component makes this call, not the collector.
  const viaGreengrass = c.credentialsSource === 'greengrass';
  flows.push({
    from: viaGreengrass ? SECRET_MANAGER : COLLECTOR,
    zone: 'AWS',
    destination: `secretsmanager.${region}.amazonaws.com`,
    port: 443,
    protocol: 'TCP (HTTPS)',
    purpose: 'AWS Secrets Manager: the OPC UA user',
    detail: viaGreengrass
      ? `GetSecretValue of "${c.credentialsSecretId}" (one of its cloudSecrets) at its start, with each deployment and when the collector asks for a refresh after the server rejected the identity; signed with the token exchange role's credentials. The collector reads the copy kept on the device over IPC`
      : `GetSecretValue of "${c.credentialsSecretId}" through the AWS SDK, at start and after the server rejects the identity; signed with the token exchange role's credentials`,
    firewall: true,
  });
  if (sinkRuns) {
    const stream = input.sink ? `delivery stream "${input.sink.deliveryStreamName}"` : "the delivery stream in the sink's configuration";
    flows.push({
      from: SINK,
      zone: 'AWS',
      destination: `firehose.${input.sink?.region ?? region}.amazonaws.com`,
      port: 443,
      protocol: 'TCP (HTTPS)',
      purpose: 'Amazon Data Firehose: burst captures',
      detail: `PutRecordBatch to ${stream}, only when there are captures to deliver${captures ? '' : ' (this collector configuration makes none: no tag has an alarm, captures are off, or shadow mode)'}`,
      firewall: true,
    });
  }
  flows.push({
    from: NUCLEUS,
    zone: 'AWS',
    destination: input.iotDataEndpoint ?? `<prefix>-ats.iot.${region}.amazonaws.com`,
    port: mqttPort,
    protocol: mqttPort === 443 ? 'TCP (MQTT over TLS, ALPN x-amzn-mqtt-ca)' : 'TCP (MQTT over TLS)',
    purpose: 'AWS IoT Core: telemetry, alarms, deployments',
    detail:
      `the nucleus's one MQTT connection (mutual TLS, the device certificate); carries conduit's PublishToIoTCore on ${topicsOf(c).join(', ')}, ` +
      `and the nucleus's deployment notifications and shadows${mqttPort === 443 ? '' : '; 443 with ALPN instead when mqtt.port is 443'}`,
    firewall: true,
  });
  flows.push({
    from: NUCLEUS,
    zone: 'AWS',
    destination: `greengrass-ats.iot.${region}.amazonaws.com`,
    port: dataPlanePort,
    protocol: 'TCP (HTTPS)',
    purpose: 'AWS IoT Greengrass data plane: deployments',
    detail: `the nucleus fetches deployments and component recipes (mutual TLS, the device certificate)${dataPlanePort === 443 ? '' : '; 443 instead when greengrassDataPlanePort is 443'}`,
    firewall: true,
  });
  flows.push({
    from: NUCLEUS,
    zone: 'AWS',
    destination: input.iotCredEndpoint ?? `<prefix>.credentials.iot.${region}.amazonaws.com`,
    port: 443,
    protocol: 'TCP (HTTPS)',
    purpose: 'AWS IoT credentials provider',
    detail: "temporary credentials of the token exchange role (mutual TLS, the device certificate), which the token exchange service hands to conduit and the nucleus uses for S3",
    firewall: true,
  });
  for (const host of ['*.s3.amazonaws.com', `*.s3.${region}.amazonaws.com`]) {
    flows.push({
      from: NUCLEUS,
      zone: 'AWS',
      destination: host,
      port: 443,
      protocol: 'TCP (HTTPS)',
      purpose: 'Amazon S3: component artifacts',
      detail: 'the conduit artifacts (zip files) of a deployment; a wildcard because S3 endpoint prefixes are not fixed',
      firewall: true,
    });
  }
  flows.push({
    from: GATEWAY_OS,
    zone: 'site DNS',
    destination: "the gateway's DNS resolver",
    port: 53,
    protocol: 'UDP and TCP (DNS)',
    purpose: 'name resolution',
    detail: `resolves the AWS host names above${isIpAddress(opcHost) ? '' : ` and ${opcHost}`}`,
    firewall: true,
  });

  const ipc = 'the nucleus IPC socket (AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT, <greengrass root>/ipc.socket)';
  const tes = 'localhost (127.0.0.1, ::1): the nucleus token exchange service';
  flows.push({
    from: COLLECTOR,
    zone: 'local',
    destination: ipc,
    port: null,
    protocol: 'Unix socket (eventstream RPC)',
    purpose: 'Greengrass IPC',
    detail: `PublishToIoTCore, its configuration and state${viaGreengrass ? `, the OPC UA secret (GetSecretValue, answered by ${SECRET_MANAGER})` : ''}${captures ? ', and the captures handed to the sink (local pub/sub)' : ''}`,
    firewall: false,
  });
  if (!viaGreengrass) {
    flows.push({
    from: COLLECTOR,
    zone: 'loopback',
    destination: tes,
    port: null,
    protocol: 'TCP (HTTP on loopback)',
    purpose: 'AWS credentials',
    detail: "AWS_CONTAINER_CREDENTIALS_FULL_URI (http://localhost:<port>/2016-11-01/credentialprovider/, the port the nucleus picked): credentials for Secrets Manager",
    firewall: false,
  });
  }
  if (sinkRuns) {
    flows.push({
      from: SINK,
      zone: 'local',
      destination: ipc,
      port: null,
      protocol: 'Unix socket (eventstream RPC)',
      purpose: 'Greengrass IPC',
      detail: 'the captures from the collector and their acknowledgements (local pub/sub), its metrics (PublishToIoTCore)',
      firewall: false,
    });
    flows.push({
      from: SINK,
      zone: 'loopback',
      destination: tes,
      port: null,
      protocol: 'TCP (HTTP on loopback)',
      purpose: 'AWS credentials',
      detail: 'AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials for Firehose',
      firewall: false,
    });
  }
  return flows;
}

/** What the plan cannot settle by itself, for the reader to act on. */
export function egressNotes(input: EgressInput): string[] {
  const notes: string[] = [];
  const c = input.collector;
  if (input.region === undefined) notes.push('the Region is unknown: give --region (or an --iot-data-endpoint) to replace <region>');
  for (const [option, host] of [['--iot-data-endpoint', input.iotDataEndpoint], ['--iot-cred-endpoint', input.iotCredEndpoint]] as const) {
    const r = regionOfEndpoint(host);
    if (host === undefined) notes.push(`${option} not given: <prefix> is your account's (aws iot describe-endpoint --endpoint-type ${option === '--iot-data-endpoint' ? 'iot:Data-ATS' : 'iot:CredentialProvider'})`);
    else if (r !== undefined && input.region !== undefined && r !== input.region) notes.push(`${option} ${host} is in ${r}, not in ${input.region}: the nucleus uses one Region`);
  }
  if (input.sink && input.region !== undefined && input.sink.region !== input.region) {
    notes.push(`the sink sends to Firehose in ${input.sink.region}, not in the nucleus's Region ${input.region}`);
  }
  if (c.allowedEndpoints.length === 0) {
    notes.push('allowedEndpoints is empty: a configuration update may point the collector at any OPC UA server; set it to the server(s) the firewall allows');
  }
  if (c.securityMode === 'None') notes.push('securityMode None: the OPC UA session is neither signed nor encrypted (allowInsecure)');
  return notes;
}

/**
 * conduit's AWS IoT Core topics: alarm events whenever a tag has an alarm (captures or not), the
 * audit of live configuration updates; in shadow mode only the metrics and the audit (runtime.ts
 * counts the rest instead of publishing it).
 */
function topicsOf(c: CollectorConfig): string[] {
  if (c.mode === 'shadow') return [c.metrics.topic, c.publish.auditTopic];
  const topics = [c.publish.topic, c.publish.mappingTopic, c.metrics.topic];
  if (c.tags.some((t) => t.alarm !== undefined)) topics.push(c.burst.alarmTopic);
  topics.push(c.publish.auditTopic);
  return topics;
}

function splitHostPort(hostPort: string): { host: string; port: number | null } {
  const i = hostPort.lastIndexOf(':');
  if (i < 0) return { host: hostPort, port: null };
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
}
