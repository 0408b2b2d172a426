// inChunks: the server's per-call limit, halving when a server understates it, and a clean stop
// with the answers so far on any other failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_NODES_PER_CALL, inChunks } from '../../../../../components/opcua-collector/src/opcua/chunks';

const items = Array.from({ length: 25 }, (_, i) => i);

test('chunks of the stated limit, answers in order; no stated limit means DEFAULT_NODES_PER_CALL', async () => {
  const sizes: number[] = [];
  const r = await inChunks(items, 10, async (chunk) => {
    sizes.push(chunk.length);
    return chunk.map((x) => x * 2);
  });
  assert.deepEqual(sizes, [10, 10, 5]);
  assert.deepEqual(r, { results: items.map((x) => x * 2), calls: 3, error: undefined });
  const many = Array.from({ length: DEFAULT_NODES_PER_CALL + 1 }, (_, i) => i);
  const unlimited: number[] = [];
  await inChunks(many, 0, async (chunk) => (unlimited.push(chunk.length), chunk));
  assert.deepEqual(unlimited, [DEFAULT_NODES_PER_CALL, 1]);
});

test('BadTooManyOperations halves the refused chunk and goes on; other errors stop with what was answered', async () => {
  const sizes: number[] = [];
  const r = await inChunks(items, 20, async (chunk) => {
    sizes.push(chunk.length);
    if (chunk.length > 6) throw new Error('BadTooManyOperations (0x80100000)');
    return chunk;
  });
  assert.deepEqual(sizes, [20, 10, 5, 5, 5, 5, 5]);
  assert.deepEqual(r.results, items);
  assert.equal(r.error, undefined);

  let n = 0;
  const stopped = await inChunks(items, 10, async (chunk) => {
    if (++n === 2) throw new Error('BadSessionClosed');
    return chunk;
  });
  assert.deepEqual(stopped, { results: items.slice(0, 10), calls: 2, error: 'BadSessionClosed' });

  const short = await inChunks(items, 10, async (chunk) => chunk.slice(1));
  assert.deepEqual(short, { results: [], calls: 1, error: 'the server answered 9 of 10 operations' });
});
