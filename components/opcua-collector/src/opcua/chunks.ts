// One OPC UA service call per chunk of nodes, within the server's OperationLimits (Read, Browse,
// TranslateBrowsePathsToNodeIds): a server that states no limit still gets chunks, because one
// 10,000-node Read can exceed its message size. Used by the collector (EURange) and check-mapping.
import { messageOf } from './session';

/** Nodes per call when the server states no limit. */
export const DEFAULT_NODES_PER_CALL = 1_000;

/**
 * Sends `items` in chunks of at most `limit` (0: DEFAULT_NODES_PER_CALL). A chunk refused as
 * BadTooManyOperations (a server that understates its limits) is halved and sent again; any other
 * failure stops there: `results` then holds the answers of the items before it, and `error` says why.
 */
export async function inChunks<T, R>(
  items: readonly T[],
  limit: number,
  service: (chunk: T[]) => Promise<R[]>,
): Promise<{ results: R[]; calls: number; error: string | undefined }> {
  let size = limit > 0 ? Math.min(limit, DEFAULT_NODES_PER_CALL) : DEFAULT_NODES_PER_CALL;
  const results: R[] = [];
  let calls = 0;
  while (results.length < items.length) {
    const chunk = items.slice(results.length, results.length + size);
    calls++;
    let answers: R[];
    try {
      answers = await service(chunk);
    } catch (err) {
      const message = messageOf(err);
      if (/BadTooManyOperations/.test(message) && chunk.length > 1) {
        // Half of what was refused (not of `size`, which may be far above the items left).
        size = Math.max(1, Math.floor(chunk.length / 2));
        continue;
      }
      return { results, calls, error: message };
    }
    if (answers.length !== chunk.length) return { results, calls, error: `the server answered ${answers.length} of ${chunk.length} operations` };
    results.push(...answers);
  }
  return { results, calls, error: undefined };
}
