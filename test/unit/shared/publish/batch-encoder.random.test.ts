// Randomised checks of the size cutting: many seeded inputs (numbers of every magnitude, nulls,
// strings with quotes, control characters, non-ASCII, emoji and lone surrogates), random limits
// and digits. Every message must be at most maxMessageBytes, the byte count the encoder computed
// before building a message must equal the payload's length (counters.payloadBytes sums the
// computed counts), and every row must come back, in order, within the rounding bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchEncoder, RMS_STATISTICS, type EncodedMessage, type RmsStatistic } from '../../../../shared/publish/batch-encoder';
import type { ChangeValue } from '../../../../shared/reduction';
import { decode, seeded } from './helpers';

const T0 = 1_700_000_000_000;
const SEEDS = 300;
const STRING_PARTS = ['a', 'Zone 3', '"', '\\', '\n', '\u0001', 'é', 'Störung', '温度', '🙂', '\ud800', '\udfff', ' ', '/'];

interface Expected {
  stream: 'rms' | 'deadband' | 'change';
  tag: number;
  time: number;
  value: number | ChangeValue | null;
}

function randomNumber(rnd: () => number): number {
  const kind = Math.floor(rnd() * 6);
  if (kind === 0) return Math.floor(rnd() * 1000); // small integer
  if (kind === 1) return -Math.floor(rnd() * 2 ** 53); // large integer
  if (kind === 2) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 60 - 30); // any magnitude
  if (kind === 3) return 0.1 * Math.floor(rnd() * 100); // short decimals
  if (kind === 4) return -0;
  return (rnd() - 0.5) * 1e300;
}

function randomString(rnd: () => number): string {
  let s = '';
  const n = Math.floor(rnd() * (rnd() < 0.05 ? 400 : 12));
  for (let i = 0; i < n; i++) s += STRING_PARTS[Math.floor(rnd() * STRING_PARTS.length)];
  return s;
}

function close(actual: unknown, expected: unknown, digits: number, what: string): void {
  if (typeof expected !== 'number' || Number.isSafeInteger(expected)) {
    // JSON.parse turns lone surrogates back into themselves: strings must round-trip exactly.
    assert.equal(actual, Object.is(expected, -0) ? 0 : expected, what);
    return;
  }
  const rel = Math.abs((actual as number) - expected) / Math.abs(expected);
  // The decimal rounding bound, plus one float64 rounding when the reader parses the decimal.
  assert.ok(rel <= 0.5 * 10 ** (1 - digits) + 2 ** -52, `${what}: ${expected} written as ${actual} (${digits} digits)`);
}

test(`every message fits, sizes are computed exactly, rows survive (${SEEDS} seeded inputs)`, () => {
  let messages = 0;
  let tooLarge = 0;
  let fullest = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rnd = seeded(seed);
    const max = 512 + Math.floor(rnd() * 4000);
    const digits = 1 + Math.floor(rnd() * 17);
    const rmsFields = RMS_STATISTICS.filter(() => rnd() < 0.6) as RmsStatistic[];
    const e = new BatchEncoder({ thingName: 'gw-' + seed, site: 'Usine Nord', area: 'Hall 2 🏭', mappingVersion: 'v' + seed, runId: 'run' + seed, maxMessageBytes: max, significantDigits: digits, rmsFields });
    const expected: Expected[] = [];
    const got: EncodedMessage[] = [];
    for (let drain = 0; drain < 3; drain++) {
      const rows = Math.floor(rnd() * 150);
      for (let i = 0; i < rows; i++) {
        const tag = Math.floor(rnd() * 100_000);
        // Times around T0, sometimes before the message's t0, sometimes fractional.
        const time = T0 + Math.floor((rnd() - 0.3) * 5000) + (rnd() < 0.2 ? 0.5 : 0);
        const k = Math.floor(rnd() * 3);
        if (k === 0) {
          const stat = rnd() < 0.2 ? null : randomNumber(rnd);
          e.addRms({ tag, windowStartMs: time, windowEndMs: time + 1000, windowsMissed: 0, status: stat === null ? 'noGoodData' : 'ok', count: 10, badCount: 0, coverage: 1, rms: stat, mean: stat, min: stat, max: stat, peak: stat });
          expected.push({ stream: 'rms', tag, time, value: rmsFields.length > 0 ? stat : 'none' });
        } else if (k === 1) {
          const value = rnd() < 0.1 ? null : randomNumber(rnd);
          e.addDeadband({ tag, sourceTimeMs: time, value, statusCode: value === null ? 0x80340000 : 0, suppressed: 3, deadband: 0.01, reason: 'change' });
          expected.push({ stream: 'deadband', tag, time, value });
        } else {
          const r = rnd();
          const value = r < 0.1 ? null : r < 0.3 ? rnd() < 0.5 : r < 0.4 ? randomNumber(rnd) : randomString(rnd);
          e.addChange({ tag, sourceTimeMs: time, value, statusCode: value === null ? 0x80000000 : 0, suppressed: 0, reason: 'change' });
          expected.push({ stream: 'change', tag, time, value });
        }
      }
      got.push(...e.drain(T0 + drain * 1000));
    }

    const c = e.counters();
    const what = `seed ${seed}, max ${max}, digits ${digits}`;
    for (const m of got) assert.ok(m.payload.length <= max, `${what}: ${m.stream} ${m.seq} is ${m.payload.length} bytes`);
    assert.equal(c.payloadBytes, got.reduce((a, m) => a + m.payload.length, 0), `${what}: computed sizes differ from payloads`);
    for (const stream of ['rms', 'deadband', 'change'] as const) {
      const msgs = got.filter((m) => m.stream === stream);
      assert.deepEqual(msgs.map((m) => m.seq), [...msgs.keys()], `${what}: ${stream} seq`);
      const decoded = msgs.flatMap((m) => {
        const d = decode(m.payload);
        assert.equal(d.header.seq, m.seq);
        assert.equal(d.rows.length, m.rows);
        return d.rows;
      });
      // Rows too large for any message (long strings at small limits) are the only ones missing.
      const want = expected.filter((x) => x.stream === stream);
      let j = 0;
      for (const row of decoded) {
        while (j < want.length && !(want[j]!.tag === row.tag && Math.abs(want[j]!.time - (row.time as number)) < 1e-3)) j++;
        assert.ok(j < want.length, `${what}: ${stream} row ${JSON.stringify(row)} not expected here`);
        const w = want[j++]!;
        const v = stream === 'rms' ? (rmsFields.length > 0 ? row[rmsFields[0]!] : 'none') : row.value;
        close(v, w.value, digits, `${what}: ${stream} tag ${w.tag}`);
      }
    }
    assert.equal(c.emitted + c.dropped.tooLarge, expected.length, what);
    assert.equal(c.emitted, got.reduce((a, m) => a + m.rows, 0), what);
    messages += got.length;
    tooLarge += c.dropped.tooLarge;
    for (const m of got) fullest = Math.max(fullest, m.payload.length / max);
  }
  // The inputs must exercise what is being tested: many cuts, some impossible rows, full messages.
  assert.ok(messages > 5 * SEEDS, `only ${messages} messages`);
  assert.ok(tooLarge > 0, 'no row was too large');
  assert.ok(fullest > 0.99, `fullest message ${fullest}`);
});
