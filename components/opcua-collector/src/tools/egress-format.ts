// The egress plan as the OT network team reads it: every flow with what it carries, the statement
// that nothing comes in, and the allowlist as firewall rules. Also as JSON, for their tooling.
import type { CollectorConfig } from '../config-types';
import { INSTALL_ONLY, type EgressInput, type Flow } from './egress-plan';
import { formatTable, wrap } from './text-table';

/** Paragraphs are wrapped here; tables are as wide as their cells. */
const WIDTH = 100;

/** The zone the gateway sits in (Purdue level 3.5), the source of every rule. */
const GATEWAY_ZONE = 'DMZ (gateway)';

export const NOTHING_INBOUND =
  'NOTHING IS INBOUND. No conduit component listens on a network port: the OPC UA session, the MQTT connection and every HTTPS request are opened by the gateway. ' +
  'Allow no connection towards the gateway, from the OT network or from the internet; allow only the replies of the outbound connections below (a stateful firewall does this by itself). ' +
  "The token exchange service listens on loopback only (127.0.0.1, ::1) and the IPC socket is a file: neither is reachable from a network.";

export function formatEgressText(input: EgressInput, flows: readonly Flow[], notes: readonly string[]): string {
  const c = input.collector;
  const out: string[] = [];
  out.push(`Egress plan: ${describeCollector(c)}; Region ${input.region ?? '<region>'}`);
  out.push('', wrap(NOTHING_INBOUND, WIDTH));
  out.push('', 'Flows (each opened by the gateway):');
  flows.forEach((f, i) => {
    const where = f.port === null ? f.destination : `${f.destination}:${f.port}`;
    out.push(wrap(`  ${String(i + 1).padStart(2)}. ${f.from} -> ${where} [${f.zone}${f.firewall ? '' : ', stays on the gateway'}], ${f.protocol}: ${f.purpose}.`, WIDTH, '      '));
    out.push(wrap(`      ${f.detail}`, WIDTH, '      '));
  });
  out.push('', `Firewall allowlist: ${flows.filter((f) => f.firewall).length} outbound rules, nothing inbound.`);
  out.push(indent(formatTable(['source zone', 'destination zone', 'destination', 'port', 'protocol', 'why'], allowlistRows(flows))));
  out.push('', 'OPC UA servers this gateway may connect to (allowedEndpoints):');
  out.push(
    wrap(
      c.allowedEndpoints.length > 0
        ? `  ${c.allowedEndpoints.join(', ')}: the collector refuses any other endpointUrl, at start and in a live configuration update.`
        : '  (not set: the collector connects to whatever endpointUrl a configuration names)',
      WIDTH,
      '    ',
    ),
  );
  out.push('', 'Not needed while running (the developer guide lists them for installation only):');
  for (const e of INSTALL_ONLY) out.push(`  ${e.host.replace(/<region>/g, input.region ?? '<region>')}: ${e.why}`);
  if (notes.length > 0) {
    out.push('', 'Notes:');
    for (const n of notes) out.push(wrap(`  - ${n}`, WIDTH, '    '));
  }
  return out.join('\n') + '\n';
}

export function formatEgressJson(input: EgressInput, flows: readonly Flow[], notes: readonly string[]): string {
  const c = input.collector;
  const doc = {
    region: input.region ?? null,
    collector: { site: c.site, area: c.area, mappingVersion: c.mappingVersion, endpointUrl: c.endpointUrl },
    inbound: [],
    inboundStatement: NOTHING_INBOUND,
    flows,
    allowedEndpoints: c.allowedEndpoints,
    installOnly: INSTALL_ONLY,
    notes,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

function allowlistRows(flows: readonly Flow[]): string[][] {
  return flows.filter((f) => f.firewall).map((f) => [GATEWAY_ZONE, f.zone, f.destination, String(f.port ?? ''), f.protocol, `${f.from}: ${f.purpose}`]);
}

function describeCollector(c: CollectorConfig): string {
  return `conduit.OpcUaCollector at ${c.site} / ${c.area}, mapping ${c.mappingVersion}, ${c.mode} mode`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
