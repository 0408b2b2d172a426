// `conduit egress-plan`: reads the collector's (and optionally the sink's) configuration and prints
// the network flows it implies, as a list and as a firewall allowlist. No network access at all.
import { EXIT_OK, UsageError, parseOptions, required, type OptionSpec } from './args';
import { loadCollectorConfig, loadSinkConfig } from './config-file';
import { formatEgressJson, formatEgressText } from './egress-format';
import { egressNotes, egressPlan, regionOfEndpoint, type EgressInput } from './egress-plan';
import type { ToolIo } from './io';

export const EGRESS_PLAN_HELP = `Usage: conduit egress-plan --config <collector.json> [options]

Prints every network flow a conduit.OpcUaCollector configuration implies (and the FirehoseSink's,
the nucleus's, DNS), states that nothing is inbound, and prints the firewall allowlist for the OT
network team. Reads files only: no network access.

Options:
  --config <file>              the collector's component configuration (JSON), as the component
                               receives it: the recipe's DefaultConfiguration with your MERGE applied
  --sink-config <file>         the conduit.FirehoseSink configuration (JSON): its stream and Region
  --region <region>            the nucleus's AWS Region, e.g. eu-west-1 (default: the Region in
                               --iot-data-endpoint or --iot-cred-endpoint)
  --iot-data-endpoint <host>   aws iot describe-endpoint --endpoint-type iot:Data-ATS
  --iot-cred-endpoint <host>   aws iot describe-endpoint --endpoint-type iot:CredentialProvider
  --mqtt-port <8883|443>       the nucleus's mqtt.port (default 8883; 443 uses ALPN)
  --data-plane-port <8443|443> the nucleus's greengrassDataPlanePort (default 8443)
  --json                       print the plan as JSON instead of text
  -h, --help                   this help

Exit status: 0 the plan was printed; 2 bad option or invalid configuration (every problem listed).
`;

const OPTIONS: OptionSpec = {
  config: { type: 'string' },
  'sink-config': { type: 'string' },
  region: { type: 'string' },
  'iot-data-endpoint': { type: 'string' },
  'iot-cred-endpoint': { type: 'string' },
  'mqtt-port': { type: 'string' },
  'data-plane-port': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;

/** Runs the command; throws UsageError (exit 2) on a bad option or configuration. */
export function runEgressPlan(argv: readonly string[], io: ToolIo): number {
  const o = parseOptions('egress-plan', argv, OPTIONS);
  if (o.help) {
    io.stdout.write(EGRESS_PLAN_HELP);
    return EXIT_OK;
  }
  const iotDataEndpoint = hostOption(o['iot-data-endpoint'], '--iot-data-endpoint');
  const iotCredEndpoint = hostOption(o['iot-cred-endpoint'], '--iot-cred-endpoint');
  const given = typeof o.region === 'string' ? o.region.trim() : undefined;
  if (given !== undefined && !REGION.test(given)) throw new UsageError(`--region must be an AWS Region such as eu-west-1`);
  const region = given ?? regionOfEndpoint(iotDataEndpoint) ?? regionOfEndpoint(iotCredEndpoint);
  const cwd = io.cwd ?? process.cwd();
  const collector = loadCollectorConfig(required('egress-plan', o, 'config'), cwd);
  const sinkPath = o['sink-config'];
  // Without a Region the sink's own check ("region is not set") would fire; the placeholder is printed instead.
  const sink = typeof sinkPath === 'string' ? loadSinkConfig(sinkPath, cwd, region ?? '<region>') : undefined;
  const input: EgressInput = { collector };
  if (sink !== undefined) input.sink = sink;
  if (region !== undefined) input.region = region;
  if (iotDataEndpoint !== undefined) input.iotDataEndpoint = iotDataEndpoint;
  if (iotCredEndpoint !== undefined) input.iotCredEndpoint = iotCredEndpoint;
  input.mqttPort = portOption(o['mqtt-port'], '--mqtt-port', [8883, 443] as const) ?? 8883;
  input.dataPlanePort = portOption(o['data-plane-port'], '--data-plane-port', [8443, 443] as const) ?? 8443;
  const flows = egressPlan(input);
  const notes = egressNotes(input);
  io.stdout.write(o.json ? formatEgressJson(input, flows, notes) : formatEgressText(input, flows, notes));
  return EXIT_OK;
}

function hostOption(v: string | boolean | undefined, name: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  const host = v.trim().toLowerCase();
  if (!HOST.test(host)) throw new UsageError(`${name} must be a host name such as a1b2c3-ats.iot.eu-west-1.amazonaws.com (no https://, no port)`);
  return host;
}

function portOption<P extends number>(v: string | boolean | undefined, name: string, allowed: readonly P[]): P | undefined {
  if (typeof v !== 'string') return undefined;
  const p = allowed.find((a) => String(a) === v.trim());
  if (p === undefined) throw new UsageError(`${name} must be ${allowed.join(' or ')}`);
  return p;
}
