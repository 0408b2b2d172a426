// Monitored items the server refused, as an operator reads them: one line for the whole set, with
// counts by reason and the first few tags, however many there are. A generated mapping against the
// wrong server can refuse thousands of tags at once; one log line per tag (27,666 lines in 40 s,
// measured) buries everything else in the component log and fills the nucleus's log rotation. Pure.
import type { ItemFailure } from './subscription';

/** Tags named in a summary line; the rest are counted. */
export const ITEM_FAILURE_EXAMPLES = 5;

export interface ItemFailureSummary {
  count: number;
  /** Refusals by reason: the OPC UA status name (BadNodeIdUnknown…) or conduit's own reason. */
  byReason: Record<string, number>;
  /** The first few, in tag order: enough to find the pattern and run check-mapping on. */
  examples: Array<{ tag: string | undefined; nodeId: string; status: string }>;
}

/** The reason a failure is counted under: the status code's name when there is one, else its text. */
export function failureReason(status: string): string {
  const code = /\bBad[A-Za-z]+/.exec(status);
  if (code) return code[0];
  // conduit's own refusals ("the server has no namespace urn:…") vary by the value they name.
  return status.replace(/ [a-z]+:\S+/g, '').replace(/"[^"]*"/g, '""').slice(0, 80);
}

export function summarizeItemFailures(failures: readonly ItemFailure[], tagName: (tag: number) => string | undefined): ItemFailureSummary {
  const byReason: Record<string, number> = {};
  for (const f of failures) {
    const r = failureReason(f.status);
    byReason[r] = (byReason[r] ?? 0) + 1;
  }
  const examples = [...failures]
    .sort((a, b) => a.tag - b.tag)
    .slice(0, ITEM_FAILURE_EXAMPLES)
    .map((f) => ({ tag: tagName(f.tag), nodeId: f.nodeId, status: f.status }));
  return { count: failures.length, byReason, examples };
}
