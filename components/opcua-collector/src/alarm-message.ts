// The alarm event published to AWS IoT Core on every raise and clear (format: docs/message-format.md).
// Pure: the runtime passes the notice and the identity. The capture id ties the event to the raw
// samples that conduit.FirehoseSink delivers to Firehose.
import { SCHEMA_VERSION } from '../../../shared/publish';
import type { AlarmNotice } from './burst';
import type { TagConfig } from './config-types';

export interface AlarmMessageContext {
  thingName: string;
  site: string;
  area: string;
  mappingVersion: string;
  runId: string;
  /** Per run, from 0: a gap tells the reader an event was lost. */
  seq: number;
  tag: TagConfig;
}

export function buildAlarmMessage(n: AlarmNotice, ctx: AlarmMessageContext): Record<string, unknown> {
  const e = n.event;
  const alarm = ctx.tag.alarm;
  const body: Record<string, unknown> = {
    v: SCHEMA_VERSION,
    type: 'alarm',
    event: e.kind,
    alarmId: e.alarmId,
    captureId: n.captureId,
    thingName: ctx.thingName,
    site: ctx.site,
    area: ctx.area,
    mappingVersion: ctx.mappingVersion,
    runId: ctx.runId,
    seq: ctx.seq,
    tag: ctx.tag.name,
    nodeId: ctx.tag.nodeId,
    // Source time of the transition: the end of the RMS window (or the raw sample) that decided it.
    at: e.atMs,
    on: alarm?.on ?? null,
    value: finite(e.value),
    raiseAt: e.rule.raiseAt,
    clearBelow: e.rule.clearBelow,
    minDurationMs: e.rule.minDurationMs,
  };
  if (ctx.tag.unit !== undefined) body.unit = ctx.tag.unit;
  if (n.captureSkipped !== undefined) body.captureSkipped = n.captureSkipped;
  if (e.kind === 'clear') {
    body.raisedAt = e.raisedAtMs;
    body.durationMs = e.atMs - e.raisedAtMs;
    body.peak = finite(e.peak);
  }
  return body;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
