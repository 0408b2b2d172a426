// Reads what the collector published to the local IoT Core back into rows, as a cloud-side reader
// of the columnar format (docs/message-format.md) would.
import type { IotCoreRecord } from './contracts';

export interface TelemetryMessage {
  v: number;
  type: 'rms' | 'deadband' | 'change';
  thingName: string;
  site: string;
  area: string;
  mappingVersion: string;
  runId: string;
  seq: number;
  t0: number;
  cols: Record<string, unknown[]>;
}

/** One row of a telemetry message, with its absolute time (`t` = t0 + dt). */
export type Row = Record<string, unknown> & { tag: number; t: number; type: TelemetryMessage['type']; seq: number };

export function telemetryMessages(records: readonly IotCoreRecord[], topic: string): TelemetryMessage[] {
  return records.filter((r) => r.topicName === topic).map((r) => JSON.parse(r.payload.toString()) as TelemetryMessage);
}

export function rows(messages: readonly TelemetryMessage[]): Row[] {
  const out: Row[] = [];
  for (const m of messages) {
    const names = Object.keys(m.cols);
    const n = (m.cols.tag ?? []).length;
    for (let i = 0; i < n; i++) {
      const row: Record<string, unknown> = { type: m.type, seq: m.seq };
      for (const c of names) row[c] = m.cols[c]![i];
      row.t = m.t0 + (row.dt as number);
      out.push(row as Row);
    }
  }
  return out;
}
