// The examples of docs/message-format.md, produced by the real stages and encoder: 3 s of 100 ms
// samples from 7 tags through RmsWindow, DeadbandEncoder and ChangeEncoder, then BatchEncoder and
// the mapping builder. message-format.test.ts checks that the document quotes exactly these.
//
// Print them (to update the document): npx tsx test/unit/shared/publish/examples.ts
import { BatchEncoder, buildMappingMessages, type MappingTag } from '../../../../shared/publish';
import { ChangeEncoder, DeadbandEncoder, RmsWindow, STATUS_BAD, STATUS_GOOD } from '../../../../shared/reduction';

const T0 = 1_718_000_000_000;
const IDENTITY = { thingName: 'gw-plant-a-01', site: 'plant-a', area: 'line-1', mappingVersion: '2024-06-10.1', runId: 'k3JH8a0Qx1' };
const RMS_FIELDS = ['rms', 'mean', 'min', 'max', 'peak'] as const;

export const EXAMPLE_TAGS: MappingTag[] = [
  { name: 'Line1.Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms', windowMs: 1000, unit: 'mm/s' },
  { name: 'Line1.Vib02', nodeId: 'ns=3;s=Line1.Vib02', mode: 'rms', windowMs: 1000, unit: 'mm/s' },
  { name: 'Line1.Vib03', nodeId: 'ns=3;s=Line1.Vib03', mode: 'rms', windowMs: 1000, unit: 'mm/s' },
  { name: 'Line1.Temp01', nodeId: 'ns=3;s=Line1.Temp01', mode: 'deadband', windowMs: 1000, deadband: { kind: 'absolute', value: 0.5 }, resolvedDeadband: 0.5, heartbeatMs: 60_000, unit: '°C' },
  { name: 'Line1.Press01', nodeId: 'ns=3;s=Line1.Press01', mode: 'deadband', windowMs: 1000, deadband: { kind: 'percent', percent: 1, rangeMin: 0, rangeMax: 10 }, resolvedDeadband: 0.1, heartbeatMs: 60_000, unit: 'bar' },
  { name: 'Line1.Running', nodeId: 'ns=3;s=Line1.Running', mode: 'change', windowMs: 1000, heartbeatMs: 300_000 },
  { name: 'Line1.State', nodeId: 'ns=3;s=Line1.State', mode: 'change', windowMs: 1000, heartbeatMs: 300_000 },
];

export interface Examples {
  rms: string;
  deadband: string;
  change: string;
  mapping: string;
}

export function buildExamples(): Examples {
  const rms = new RmsWindow({ tags: [{}, {}, {}, null, null, null, null] });
  const db = new DeadbandEncoder({ tags: [null, null, null, { mode: 'absolute', deadband: 0.5, heartbeatMs: 60_000 }, { mode: 'percent', percent: 1, rangeMin: 0, rangeMax: 10, heartbeatMs: 60_000 }] });
  const ch = new ChangeEncoder({ tags: [null, null, null, null, null, { heartbeatMs: 300_000 }, { heartbeatMs: 300_000 }] });
  for (let k = 0; k < 30; k++) {
    const t = T0 + k * 100;
    rms.add(0, t, 2.5 * Math.sin(k * 0.9) + 0.1, STATUS_GOOD);
    // Vib02 goes Bad for the whole second second: a noGoodData window, never a fake 0.
    rms.add(1, t, k >= 10 && k < 20 ? NaN : 1.2 * Math.cos(k * 0.7), k >= 10 && k < 20 ? STATUS_BAD : STATUS_GOOD);
    // Vib03 stops after the first second: one noData record covers the windows it missed.
    if (k < 10) rms.add(2, t, 0.8 + 0.05 * k, STATUS_GOOD);
    db.add(3, t, k === 15 ? NaN : 21 + 0.07 * k, k === 15 ? STATUS_BAD : STATUS_GOOD);
    db.add(4, t, 4.2 + 0.021 * k, STATUS_GOOD);
    ch.add(5, t, k < 22, STATUS_GOOD);
    ch.add(6, t, k < 8 ? 'STARTING' : k < 22 ? 'RUNNING' : 'STOPPING', STATUS_GOOD);
  }
  const enc = new BatchEncoder({ ...IDENTITY, maxMessageBytes: 131_072, significantDigits: 10, rmsFields: RMS_FIELDS });
  // The runtime's publish tick at T0 + 3.2 s, with a watermark of now minus 200 ms of allowed lateness.
  rms.flush(T0 + 3000, (r) => enc.addRms(r));
  db.flush(T0 + 3200, (p) => enc.addDeadband(p));
  ch.flush(T0 + 3200, (p) => enc.addChange(p));
  const [r, d, c] = enc.drain(T0 + 3200);
  const [mapping] = buildMappingMessages({ ...IDENTITY, samplingIntervalMs: 100, significantDigits: 10, rmsFields: RMS_FIELDS, tags: EXAMPLE_TAGS }, T0 + 3200, 131_072);
  return { rms: r!.payload.toString(), deadband: d!.payload.toString(), change: c!.payload.toString(), mapping: mapping!.payload.toString() };
}

if (require.main === module) {
  const ex = buildExamples();
  for (const [k, v] of Object.entries(ex)) {
    console.log(`--- ${k} (${Buffer.byteLength(v)} bytes)\n${v}\n--- ${k} pretty\n${JSON.stringify(JSON.parse(v), null, 2)}`);
  }
}
