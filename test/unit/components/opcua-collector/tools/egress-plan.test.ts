// egressPlan: the exact flows a configuration implies, for the OT network team's firewall. Every
// case compares the whole list, so a flow that appears, disappears or changes port is a failure.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCollectorConfig } from '../../../../../components/opcua-collector/src/config';
import { parseSinkConfig } from '../../../../../components/firehose-sink/src/config';
import { capturesOn, egressNotes, egressPlan, regionOfEndpoint, type Flow } from '../../../../../components/opcua-collector/src/tools/egress-plan';
import { BASE_CONFIG } from '../config-fixture';

const VIB = { name: 'Line1.Motor01.VibDE', nodeId: 'ns=3;s=Line1.Motor01.VibDE', mode: 'rms' };
const ALARM = { on: 'rms', raiseAt: 7.1, clearBelow: 6, minDurationMs: 3000 };
const RUNNING = { name: 'Line1.Motor01.Running', nodeId: 'ns=3;s=Line1.Motor01.Running', mode: 'change' };

function collector(extra: Record<string, unknown> = {}) {
  return parseCollectorConfig({ ...structuredClone(BASE_CONFIG), tags: [VIB, RUNNING], ...extra });
}

const IPC = 'the nucleus IPC socket (AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT, <greengrass root>/ipc.socket)';
const TES = 'localhost (127.0.0.1, ::1): the nucleus token exchange service';

/** The flows every plan has, in order, for a collector without captures and without a sink. */
function baseFlows(o: { region: string; data: string; cred: string; mqtt: number; plane: number; tags: number; dns: string; topics: string }): Flow[] {
  // The default credentialsSource (greengrass): aws.greengrass.SecretManager reads the secret; the
  // collector reads its copy over IPC and needs no AWS credentials of its own.
  return [
    {
      from: 'conduit.OpcUaCollector',
      zone: 'OT network',
      destination: 'plc.plant.local',
      port: 4840,
      protocol: 'TCP (OPC UA binary, opc.tcp)',
      purpose: 'OPC UA session to the plant server',
      detail: `GetEndpoints, then one SignAndEncrypt/Basic256Sha256 session to opc.tcp://plc.plant.local:4840; Read, TranslateBrowsePaths and one subscription of ${o.tags} tags, nothing else (never Write, Call or HistoryUpdate)`,
      firewall: true,
    },
    {
      from: 'aws.greengrass.SecretManager',
      zone: 'AWS',
      destination: `secretsmanager.${o.region}.amazonaws.com`,
      port: 443,
      protocol: 'TCP (HTTPS)',
      purpose: 'AWS Secrets Manager: the OPC UA user',
      detail: 'GetSecretValue of "conduit/opcua-collector" (one of its cloudSecrets) at its start, with each deployment and when the collector asks for a refresh after the server rejected the identity; signed with the token exchange role\'s credentials. The collector reads the copy kept on the device over IPC',
      firewall: true,
    },
    {
      from: 'Greengrass nucleus',
      zone: 'AWS',
      destination: o.data,
      port: o.mqtt,
      protocol: o.mqtt === 443 ? 'TCP (MQTT over TLS, ALPN x-amzn-mqtt-ca)' : 'TCP (MQTT over TLS)',
      purpose: 'AWS IoT Core: telemetry, alarms, deployments',
      detail: `the nucleus's one MQTT connection (mutual TLS, the device certificate); carries conduit's PublishToIoTCore on ${o.topics}, and the nucleus's deployment notifications and shadows${o.mqtt === 443 ? '' : '; 443 with ALPN instead when mqtt.port is 443'}`,
      firewall: true,
    },
    {
      from: 'Greengrass nucleus',
      zone: 'AWS',
      destination: `greengrass-ats.iot.${o.region}.amazonaws.com`,
      port: o.plane,
      protocol: 'TCP (HTTPS)',
      purpose: 'AWS IoT Greengrass data plane: deployments',
      detail: `the nucleus fetches deployments and component recipes (mutual TLS, the device certificate)${o.plane === 443 ? '' : '; 443 instead when greengrassDataPlanePort is 443'}`,
      firewall: true,
    },
    {
      from: 'Greengrass nucleus',
      zone: 'AWS',
      destination: o.cred,
      port: 443,
      protocol: 'TCP (HTTPS)',
      purpose: 'AWS IoT credentials provider',
      detail: 'temporary credentials of the token exchange role (mutual TLS, the device certificate), which the token exchange service hands to conduit and the nucleus uses for S3',
      firewall: true,
    },
    ...['*.s3.amazonaws.com', `*.s3.${o.region}.amazonaws.com`].map(
      (destination): Flow => ({
        from: 'Greengrass nucleus',
        zone: 'AWS',
        destination,
        port: 443,
        protocol: 'TCP (HTTPS)',
        purpose: 'Amazon S3: component artifacts',
        detail: 'the conduit artifacts (zip files) of a deployment; a wildcard because S3 endpoint prefixes are not fixed',
        firewall: true,
      }),
    ),
    {
      from: 'gateway OS',
      zone: 'site DNS',
      destination: "the gateway's DNS resolver",
      port: 53,
      protocol: 'UDP and TCP (DNS)',
      purpose: 'name resolution',
      detail: `resolves the AWS host names above${o.dns}`,
      firewall: true,
    },
    { from: 'conduit.OpcUaCollector', zone: 'local', destination: IPC, port: null, protocol: 'Unix socket (eventstream RPC)', purpose: 'Greengrass IPC', detail: `PublishToIoTCore, its configuration and state, the OPC UA secret (GetSecretValue, answered by aws.greengrass.SecretManager)`, firewall: false },
  ];
}

/** credentialsSource secretsmanager: the collector calls Secrets Manager itself, with the token exchange service's credentials. */
const DIRECT_SECRET_FLOWS: Flow[] = [
  {
    from: 'conduit.OpcUaCollector',
    zone: 'AWS',
    destination: 'secretsmanager.<region>.amazonaws.com',
    port: 443,
    protocol: 'TCP (HTTPS)',
    purpose: 'AWS Secrets Manager: the OPC UA user',
    detail: 'GetSecretValue of "conduit/opcua-collector" through the AWS SDK, at start and after the server rejects the identity; signed with the token exchange role\'s credentials',
    firewall: true,
  },
  {
    from: 'conduit.OpcUaCollector',
    zone: 'loopback',
    destination: TES,
    port: null,
    protocol: 'TCP (HTTP on loopback)',
    purpose: 'AWS credentials',
    detail: 'AWS_CONTAINER_CREDENTIALS_FULL_URI (http://localhost:<port>/2016-11-01/credentialprovider/, the port the nucleus picked): credentials for Secrets Manager',
    firewall: false,
  },
];

const TOPICS = 'conduit/{thingName}/telemetry, conduit/{thingName}/mapping, conduit/{thingName}/metrics';
/** Applied live updates are audited in every mode. */
const AUDIT = 'conduit/{thingName}/config-audit';

describe('egressPlan', () => {
  test('no Region, no endpoints, no alarm: placeholders, nucleus defaults 8883 and 8443, no Firehose, no sink', () => {
    const flows = egressPlan({ collector: collector() });
    const expected = baseFlows({
      region: '<region>',
      data: '<prefix>-ats.iot.<region>.amazonaws.com',
      cred: '<prefix>.credentials.iot.<region>.amazonaws.com',
      mqtt: 8883,
      plane: 8443,
      tags: 2,
      dns: ' and plc.plant.local',
      topics: `${TOPICS}, ${AUDIT}`,
    });
    assert.deepEqual(flows, expected);
    assert.equal(flows.filter((f) => f.firewall).length, 8);
  });

  test('credentialsSource secretsmanager: the collector itself calls Secrets Manager, with the token exchange service', () => {
    const flows = egressPlan({ collector: collector({ credentialsSource: 'secretsmanager' }) });
    const secretFlows = flows.filter((f) => f.purpose === 'AWS Secrets Manager: the OPC UA user' || (f.from === 'conduit.OpcUaCollector' && f.purpose === 'AWS credentials'));
    assert.deepEqual(secretFlows, DIRECT_SECRET_FLOWS);
    assert.equal(flows.find((f) => f.purpose === 'Greengrass IPC')?.detail, 'PublishToIoTCore, its configuration and state');
    assert.ok(!flows.some((f) => f.from === 'aws.greengrass.SecretManager'));
  });

  test('a tag with an alarm and a sink configuration: Firehose in the sink\'s Region, the sink\'s IPC and TES, the alarm topic', () => {
    const c = collector({ tags: [{ ...VIB, alarm: ALARM }, RUNNING] });
    const sink = parseSinkConfig({ deliveryStreamName: 'conduit-bursts', region: 'eu-central-1' });
    const flows = egressPlan({
      collector: c,
      sink,
      region: 'eu-west-1',
      iotDataEndpoint: 'a1b2c3-ats.iot.eu-west-1.amazonaws.com',
      iotCredEndpoint: 'd4e5f6.credentials.iot.eu-west-1.amazonaws.com',
      mqttPort: 443,
      dataPlanePort: 443,
    });
    const base = baseFlows({
      region: 'eu-west-1',
      data: 'a1b2c3-ats.iot.eu-west-1.amazonaws.com',
      cred: 'd4e5f6.credentials.iot.eu-west-1.amazonaws.com',
      mqtt: 443,
      plane: 443,
      tags: 2,
      dns: ' and plc.plant.local',
      topics: `${TOPICS}, conduit/{thingName}/alarms, ${AUDIT}`,
    });
    const firehose: Flow = {
      from: 'conduit.FirehoseSink',
      zone: 'AWS',
      destination: 'firehose.eu-central-1.amazonaws.com',
      port: 443,
      protocol: 'TCP (HTTPS)',
      purpose: 'Amazon Data Firehose: burst captures',
      detail: 'PutRecordBatch to delivery stream "conduit-bursts", only when there are captures to deliver',
      firewall: true,
    };
    base[base.length - 1] = {
      ...base[base.length - 1]!,
      detail: 'PublishToIoTCore, its configuration and state, the OPC UA secret (GetSecretValue, answered by aws.greengrass.SecretManager), and the captures handed to the sink (local pub/sub)',
    };
    const expected: Flow[] = [
      ...base.slice(0, 2),
      firehose,
      ...base.slice(2),
      { from: 'conduit.FirehoseSink', zone: 'local', destination: IPC, port: null, protocol: 'Unix socket (eventstream RPC)', purpose: 'Greengrass IPC', detail: 'the captures from the collector and their acknowledgements (local pub/sub), its metrics (PublishToIoTCore)', firewall: false },
      { from: 'conduit.FirehoseSink', zone: 'loopback', destination: TES, port: null, protocol: 'TCP (HTTP on loopback)', purpose: 'AWS credentials', detail: 'AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials for Firehose', firewall: false },
    ];
    assert.deepEqual(flows, expected);
  });

  test('captures on without a sink configuration: the Firehose flow still appears, in the nucleus Region', () => {
    const flows = egressPlan({ collector: collector({ tags: [{ ...VIB, alarm: ALARM }] }), region: 'eu-west-1' });
    const firehose = flows.find((f) => f.from === 'conduit.FirehoseSink' && f.firewall);
    assert.deepEqual(firehose, {
      from: 'conduit.FirehoseSink',
      zone: 'AWS',
      destination: 'firehose.eu-west-1.amazonaws.com',
      port: 443,
      protocol: 'TCP (HTTPS)',
      purpose: 'Amazon Data Firehose: burst captures',
      detail: "PutRecordBatch to the delivery stream in the sink's configuration, only when there are captures to deliver",
      firewall: true,
    });
  });

  test('captures off (maxCapturesPerHour 0, or shadow mode): no Firehose unless a sink configuration is given', () => {
    const alarmed = { tags: [{ ...VIB, alarm: ALARM }] };
    for (const extra of [{ ...alarmed, burst: { maxCapturesPerHour: 0 } }, { ...alarmed, mode: 'shadow' }]) {
      const c = collector(extra);
      assert.equal(capturesOn(c), false);
      assert.equal(egressPlan({ collector: c }).some((f) => f.from === 'conduit.FirehoseSink'), false);
    }
    const sink = parseSinkConfig({ deliveryStreamName: 's' }, { defaultRegion: 'eu-west-1' });
    const withSink = egressPlan({ collector: collector({ ...alarmed, mode: 'shadow' }), sink });
    assert.match(withSink.find((f) => f.destination.startsWith('firehose.'))?.detail ?? '', /this collector configuration makes none/);
  });

  test('shadow mode publishes only metrics; an IP address needs no DNS for the plant; an IPv6 endpoint keeps its brackets', () => {
    const shadow = egressPlan({ collector: collector({ mode: 'shadow', endpointUrl: 'opc.tcp://10.20.30.40:4841/UA' }) });
    assert.match(shadow.find((f) => f.from === 'Greengrass nucleus')?.detail ?? '', /PublishToIoTCore on conduit\/\{thingName\}\/metrics, conduit\/\{thingName\}\/config-audit, and/);
    assert.deepEqual([shadow[0]?.destination, shadow[0]?.port], ['10.20.30.40', 4841]);
    assert.equal(shadow.find((f) => f.zone === 'site DNS')?.detail, 'resolves the AWS host names above');
    const v6 = egressPlan({ collector: collector({ endpointUrl: 'opc.tcp://[fd00::10]:4840' }) });
    assert.deepEqual([v6[0]?.destination, v6[0]?.port], ['[fd00::10]', 4840]);
  });

  test('nothing is inbound: every flow is opened by the gateway, and no flow listens', () => {
    const flows = egressPlan({ collector: collector({ tags: [{ ...VIB, alarm: ALARM }] }), region: 'eu-west-1' });
    for (const f of flows) assert.ok(['conduit.OpcUaCollector', 'conduit.FirehoseSink', 'Greengrass nucleus', 'aws.greengrass.SecretManager', 'gateway OS'].includes(f.from));
    assert.ok(flows.every((f) => f.firewall === (f.zone !== 'local' && f.zone !== 'loopback')));
  });
});

describe('egressNotes and regionOfEndpoint', () => {
  test('the Region of an IoT endpoint', () => {
    assert.equal(regionOfEndpoint('a1b2c3-ats.iot.eu-west-1.amazonaws.com'), 'eu-west-1');
    assert.equal(regionOfEndpoint('d4e5f6.credentials.iot.us-gov-west-1.amazonaws.com'), 'us-gov-west-1');
    assert.equal(regionOfEndpoint('example.com'), undefined);
    assert.equal(regionOfEndpoint(undefined), undefined);
  });

  test('notes: unknown Region, missing endpoints, Region mismatch, empty allowedEndpoints, insecure', () => {
    const c = collector({ securityMode: 'None', allowInsecure: true });
    assert.deepEqual(egressNotes({ collector: c }), [
      'the Region is unknown: give --region (or an --iot-data-endpoint) to replace <region>',
      "--iot-data-endpoint not given: <prefix> is your account's (aws iot describe-endpoint --endpoint-type iot:Data-ATS)",
      "--iot-cred-endpoint not given: <prefix> is your account's (aws iot describe-endpoint --endpoint-type iot:CredentialProvider)",
      'allowedEndpoints is empty: a configuration update may point the collector at any OPC UA server; set it to the server(s) the firewall allows',
      'securityMode None: the OPC UA session is neither signed nor encrypted (allowInsecure)',
    ]);
    const pinned = collector({ allowedEndpoints: ['plc.plant.local:4840'] });
    const sink = parseSinkConfig({ deliveryStreamName: 's', region: 'eu-central-1' });
    assert.deepEqual(
      egressNotes({ collector: pinned, sink, region: 'eu-west-1', iotDataEndpoint: 'a-ats.iot.eu-north-1.amazonaws.com', iotCredEndpoint: 'b.credentials.iot.eu-west-1.amazonaws.com' }),
      ['--iot-data-endpoint a-ats.iot.eu-north-1.amazonaws.com is in eu-north-1, not in eu-west-1: the nucleus uses one Region', 'the sink sends to Firehose in eu-central-1, not in the nucleus\'s Region eu-west-1'],
    );
  });
});
