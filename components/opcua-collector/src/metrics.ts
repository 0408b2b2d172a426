// The metrics message an operator alarms on, built from the counters every part reports. Pure: the
// runtime passes the counters and the time. Totals are cumulative within a run (a new runId after a
// restart), so a reader computes rates from two messages; the per-interval rate of samples is given.
import { SCHEMA_VERSION } from '../../../shared/publish';
import type { OutboxCounters } from '../../../shared/publish';
import type { PipelineCounters } from './pipeline';
import type { OperatorProblem, SourceCounters, SourceState } from './ports';
import type { BurstCounters } from './burst';
import type { HandoffCounters } from './capture-handoff';

export interface MetricsInput {
  thingName: string;
  site: string;
  area: string;
  mappingVersion: string;
  runId: string;
  seq: number;
  nowMs: number;
  intervalSec: number;
  pipeline: PipelineCounters;
  /** Samples at the previous metrics message, for the rate. */
  previousSamples: number;
  outbox: OutboxCounters & { oldestAgeMs: number };
  source: (SourceCounters & { state: SourceState; lastDataAgeMs: number | null; problem: OperatorProblem['kind'] | null }) | undefined;
  /** `problem`: 'publish:unauthorized' while the nucleus refuses a topic (messages held), else null. */
  ipc: { connected: boolean; reconnects: number; publishErrors: number; publishRetries: number; problem: string | null };
  /** Messages published (accepted by the nucleus) and their bytes. */
  published: { messages: number; bytes: number };
  mode?: 'active' | 'shadow';
  /** Shadow mode only: what would have been published (messages, bytes, per stream; captures). */
  shadow?: { messages: number; bytes: number; byStream: Record<string, number>; captures: number; captureBytes: number };
  /** Only when a tag has an alarm. */
  burst?: BurstCounters & { handoff: HandoffCounters | null; capturesDropped: number };
}

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

export function buildMetrics(m: MetricsInput): Record<string, unknown> {
  const p = m.pipeline;
  const outboxDropped = sum(m.outbox.dropped);
  const rejected = sum(m.outbox.rejected);
  return {
    v: SCHEMA_VERSION,
    type: 'metrics',
    thingName: m.thingName,
    site: m.site,
    area: m.area,
    mappingVersion: m.mappingVersion,
    runId: m.runId,
    seq: m.seq,
    at: m.nowMs,
    intervalSec: m.intervalSec,
    mode: m.mode ?? 'active',
    // Shadow mode: nothing but this message left the gateway; here is what would have.
    shadow: m.shadow ?? null,
    samplesReceived: p.samples,
    samplesPerSec: Math.round(((p.samples - m.previousSamples) / m.intervalSec) * 10) / 10,
    pointsPublished: p.points,
    // How many raw samples one published point stands for: the edge reduction at work.
    reductionRatio: p.points > 0 ? Math.round((p.samples / p.points) * 100) / 100 : null,
    bytesPerPoint: Math.round(p.bytesPerPoint * 10) / 10,
    suppressed: p.suppressed,
    samplingGaps: p.samplingGaps,
    // Everything lost or refused, by where it happened: a non-zero `lost` total is data the cloud will not get.
    dropped: {
      badSamples: p.gateDropped,
      stages: p.stageDropped,
      encoder: p.encoderDropped,
      queueFull: outboxDropped,
      rejectedByNucleus: rejected,
    },
    statusOnly: p.statusOnly,
    // Percent deadbands still waiting for the server's EURange, or without a usable one: sent with every change.
    deadbandRange: p.deadbandRange,
    lost: {
      queueFull: outboxDropped,
      rejectedByNucleus: rejected,
      serverOverflow: m.source?.overflowLost ?? 0,
      stages: sum(p.stageDropped),
      encoder: p.encoderDropped,
      // Capture records dropped before the sink stored them (whole captures when no sink is configured).
      captureRecords: m.burst ? (m.burst.handoff?.evicted ?? 0) + (m.burst.handoff?.rejected ?? 0) + m.burst.capturesDropped : 0,
    },
    queue: { messages: m.outbox.messages, bytes: m.outbox.bytes, oldestAgeMs: m.outbox.oldestAgeMs },
    published: m.published,
    opcua: m.source
      ? {
          state: m.source.state,
          // Set while a failure needs an operator (identity, certificate, credentials): alarm on it.
          problem: m.source.problem,
          lastDataAgeMs: m.source.lastDataAgeMs,
          notifications: m.source.notifications,
          reconnects: m.source.reconnects,
          connectFailures: m.source.connectFailures,
          identityRejected: m.source.identityRejected,
          certificateRejected: m.source.certificateRejected,
          clientCertificateRejected: m.source.clientCertificateRejected,
          watchdogResets: m.source.watchdogResets,
          // Tags of the current session timed without a source timestamp, and how (docs/collector.md).
          tagsWithoutSourceTimestamp: m.source.tagsWithoutSourceTimestamp,
          tagsWithoutTimestamp: m.source.tagsWithoutTimestamp,
          samplesTimedByServer: m.source.samplesTimedByServer,
          samplesTimedByArrival: m.source.samplesTimedByArrival,
          overflowLost: m.source.overflowLost,
          monitoredItemsFailed: m.source.monitoredItemsFailed,
          monitoredItemsFailedByReason: m.source.monitoredItemsFailedByReason ?? {},
        }
      : null,
    ipc: m.ipc,
    burst: m.burst
      ? {
          ringBytes: m.burst.captures.ringBytes,
          openCaptureBytes: m.burst.captures.openCaptureBytes,
          alarms: m.burst.alarms,
          captures: {
            open: m.burst.captures.open,
            started: m.burst.captures.started,
            merged: m.burst.captures.merged,
            skipped: m.burst.captures.skipped,
            completed: m.burst.captures.completed,
            incomplete: m.burst.captures.incomplete,
          },
          // Records waiting for conduit.FirehoseSink's acknowledgement; evicted/rejected are lost.
          handoff: m.burst.handoff,
          capturesDropped: m.burst.capturesDropped,
        }
      : null,
  };
}
