// The sink's metrics message, built from the counters every part reports. Pure: the runtime passes
// the counters and the time. Totals are cumulative within a run (a new runId after a restart), so a
// reader computes rates from two messages. `lost` sums what will never reach Firehose.
import type { IntakeCounters } from './intake';
import type { SenderCounters } from './sender';
import type { RecoveryReport, SpoolCounters } from './spool';

export const SINK_METRICS_VERSION = 1;

export interface SinkMetricsInput {
  thingName: string;
  runId: string;
  seq: number;
  nowMs: number;
  intervalSec: number;
  deliveryStreamName: string;
  spool: { bytes: number; maxBytes: number; records: number; segments: number; oldestAgeMs: number | null };
  spoolCounters: SpoolCounters;
  recovery: RecoveryReport;
  intake: IntakeCounters;
  sender: SenderCounters;
  /** Records the sender holds for a retry. */
  holding: number;
  /** What an operator must fix: the spool's disk (`spool:<errno>`, records are not accepted) first, else delivery (`firehose:<error>`); or null. */
  problem: string | null;
}

export function buildSinkMetrics(m: SinkMetricsInput): Record<string, unknown> {
  const s = m.sender;
  return {
    v: SINK_METRICS_VERSION,
    type: 'sink-metrics',
    thingName: m.thingName,
    runId: m.runId,
    seq: m.seq,
    at: m.nowMs,
    intervalSec: m.intervalSec,
    deliveryStreamName: m.deliveryStreamName,
    // Not null while the sink waits for an operator: a spool disk that is full, read-only or missing
    // (`spool:ENOSPC`...: nothing is accepted), or a stream missing, a role that may not write it
    // (`firehose:...`: nothing is delivered). Alarm on it.
    problem: m.problem,
    spool: { ...m.spool, holding: m.holding },
    received: { messages: m.intake.messages, records: m.intake.received },
    malformed: m.intake.malformed,
    stored: m.spoolCounters.stored,
    duplicates: m.spoolCounters.duplicates,
    rejected: m.intake.rejected,
    notStored: m.intake.notStored,
    ackFailures: m.intake.ackFailures,
    sent: { records: s.records, firehoseRecords: s.firehoseRecords, calls: s.calls, bytes: s.bytes },
    retried: { calls: s.retriedCalls, records: s.retriedRecords },
    failedCalls: s.failedCalls,
    failedRecords: s.failedRecords,
    evicted: { records: m.spoolCounters.evictedRecords, bytes: m.spoolCounters.evictedBytes, deliveredAnyway: s.deliveredAfterEviction },
    recovered: {
      records: m.recovery.records,
      segments: m.recovery.segments,
      truncatedBytes: m.recovery.truncatedBytes,
      corruptBytes: m.recovery.corruptBytes,
      journalTruncatedBytes: m.recovery.journalTruncatedBytes,
    },
    // Never reaching Firehose: evicted from a full spool (less those that arrived anyway), and rejected.
    lost: { evicted: m.spoolCounters.evictedRecords - s.deliveredAfterEviction, rejected: m.intake.rejected, corruptBytes: m.recovery.corruptBytes },
  };
}
