// Test helpers for the publish encoders: a seeded generator and a reader of columnar messages that
// does what a cloud-side reader would (scalar fields, columns back into rows).
import assert from 'node:assert/strict';

/** A seeded generator (no Math.random in tests): uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface Decoded {
  header: Record<string, unknown>;
  /** One object per row, `time` = t0 + dt. */
  rows: Record<string, unknown>[];
}

/** Parses one telemetry payload and turns its columns back into rows. */
export function decode(payload: Buffer): Decoded {
  const msg = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  const { cols, ...header } = msg;
  const columns = cols as Record<string, unknown[]>;
  const names = Object.keys(columns);
  const n = columns[names[0]!]!.length;
  for (const c of names) assert.equal(columns[c]!.length, n, `column ${c} has ${columns[c]!.length} cells, ${names[0]} has ${n}`);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const c of names) row[c] = columns[c]![i];
    row.time = (header.t0 as number) + (row.dt as number);
    rows.push(row);
  }
  return { header, rows };
}
