// The spool's framing: CRC-32 as zip computes it, frames read back whole, and a torn or damaged
// frame found at its exact offset instead of being read as a record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { FRAME_HEADER_BYTES, crc32, decodeRecordHeader, encodeFrame, encodeRecord, recordDataOffset, recordFrameBytes, scanFrames } from '../../../../components/firehose-sink/src/frames';

test('crc32 gives the standard check values and matches zlib where Node has it', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
  assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  // Continuing from a previous CRC equals the CRC of the concatenation.
  assert.equal(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926);
  const zcrc = (zlib as unknown as { crc32?: (b: Buffer) => number }).crc32;
  if (zcrc) {
    for (let n = 0; n < 300; n += 37) {
      const b = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
      assert.equal(crc32(b), zcrc(b), `length ${n}`);
    }
  }
});

test('frames are read back in order, and the scan ends cleanly', () => {
  const a = encodeFrame(Buffer.from('first'));
  const b = encodeFrame(Buffer.from(''));
  const c = encodeFrame(Buffer.from('third one'));
  const scans = [...scanFrames(Buffer.concat([a, b, c]), 1024)];
  assert.deepEqual(
    scans.map((s) => (s.kind === 'frame' ? s.payload.toString() : s.kind)),
    ['first', '', 'third one', 'end'],
  );
  assert.equal(a.length, FRAME_HEADER_BYTES + 5);
});

test('a torn tail and a flipped bit are reported where they start', () => {
  const a = encodeFrame(Buffer.from('kept'));
  const b = encodeFrame(Buffer.from('torn away'));
  for (const cut of [1, FRAME_HEADER_BYTES - 1, FRAME_HEADER_BYTES + 2]) {
    const last = [...scanFrames(Buffer.concat([a, b.subarray(0, cut)]), 1024)].at(-1)!;
    assert.deepEqual(last, { kind: 'bad', start: a.length, why: 'torn' }, `cut at ${cut}`);
  }
  const flipped = Buffer.concat([a, b]);
  flipped[a.length + FRAME_HEADER_BYTES + 3]! ^= 0x01;
  assert.deepEqual([...scanFrames(flipped, 1024)].at(-1), { kind: 'bad', start: a.length, why: 'corrupt' });
  // A length beyond any plausible frame is damage, not a torn write waiting for more bytes.
  const garbage = Buffer.concat([a, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]);
  assert.deepEqual([...scanFrames(garbage, 1024)].at(-1), { kind: 'bad', start: a.length, why: 'corrupt' });
  // The length is covered by the CRC: a changed length with an intact payload is caught.
  const relen = Buffer.from(a);
  relen.writeUInt32BE(3, 0);
  assert.equal([...scanFrames(relen, 1024)][0]!.kind, 'bad');
});

test('a record frame carries seq, time, id and data, and the data offset points at the data', () => {
  const r = { seq: 2 ** 40 + 7, at: 1_750_000_000_123, id: 'capture/é/3', data: '{"v":[1,2,3]}' };
  const { frame, idBytes, dataBytes } = encodeRecord(r);
  assert.equal(frame.length, recordFrameBytes(r.id, r.data));
  assert.equal(frame.subarray(recordDataOffset(idBytes)).toString(), r.data);
  assert.equal(dataBytes, Buffer.byteLength(r.data));
  const [scan] = [...scanFrames(frame, 4096)];
  assert.equal(scan!.kind, 'frame');
  const h = decodeRecordHeader((scan as { payload: Buffer }).payload)!;
  assert.deepEqual({ seq: h.seq, at: h.at, id: h.id, dataBytes: h.dataBytes }, { seq: r.seq, at: r.at, id: r.id, dataBytes });
});
