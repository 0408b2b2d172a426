// The alarm event published to AWS IoT Core on every raise and clear (format: docs/burst.md).
// Pure: the runtime passes the notice and the identity. The capture id ties the event to the raw
// samples that conduit.FirehoseSink delivers to Firehose. Besides the detector's clears (reason
// "value"), the collector closes alarms itself when it stops or replaces its pipeline, and closes
// what a previous run left open (reason "restart", from the ledger of alarm-ledger.ts).
import { SCHEMA_VERSION } from '../../../shared/publish';
import type { OpenAlarm, OpenCapture } from './alarm-ledger';
import type { AlarmNotice } from './burst';
import type { TagConfig } from './config-types';

/** Why an alarm was closed: its value fell below clearBelow, or the collector closed it. */
export type CloseReason = 'value' | 'stop' | 'reconfigure' | 'restart';

/** The identity of the run that publishes a close. */
export interface CloseContext {
  thingName: string;
  site: string;
  area: string;
  runId: string;
  seq: number;
  /** The gateway's clock when the collector closed it (no source time decided it). */
  atMs: number;
  reason: Exclude<CloseReason, 'value'>;
}

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
    body.reason = 'value' satisfies CloseReason;
    body.raisedAt = e.raisedAtMs;
    body.durationMs = e.atMs - e.raisedAtMs;
    body.peak = finite(e.peak);
  }
  return body;
}

/** What the ledger keeps of a raise, so that the alarm can be closed by this run or the next one. */
export function openAlarmOf(n: AlarmNotice, ctx: Omit<AlarmMessageContext, 'seq' | 'thingName' | 'site' | 'area'>): OpenAlarm {
  const e = n.event;
  const a: OpenAlarm = {
    alarmId: e.alarmId,
    runId: ctx.runId,
    mappingVersion: ctx.mappingVersion,
    tag: ctx.tag.name,
    nodeId: ctx.tag.nodeId,
    on: ctx.tag.alarm?.on ?? null,
    raiseAt: e.rule.raiseAt,
    clearBelow: e.rule.clearBelow,
    minDurationMs: e.rule.minDurationMs,
    raisedAt: e.atMs,
    captureId: n.captureId,
  };
  if (ctx.tag.unit !== undefined) a.unit = ctx.tag.unit;
  return a;
}

/**
 * A clear the collector decided, not the value: at a stop or a pipeline replacement (this run), or
 * for an alarm a previous run left open (reason "restart"). `value` and `peak` are null (no value
 * decided it); `raisedRunId` is the run that raised it. For "restart", `captureLost` says whether its
 * capture was not completely acknowledged by the sink (null: the alarm had no capture).
 */
export function buildCloseMessage(a: OpenAlarm, ctx: CloseContext, captureLost?: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    v: SCHEMA_VERSION,
    type: 'alarm',
    event: 'clear',
    alarmId: a.alarmId,
    captureId: a.captureId,
    thingName: ctx.thingName,
    site: ctx.site,
    area: ctx.area,
    mappingVersion: a.mappingVersion,
    runId: ctx.runId,
    seq: ctx.seq,
    tag: a.tag,
    nodeId: a.nodeId,
    at: ctx.atMs,
    on: a.on,
    value: null,
    raiseAt: a.raiseAt,
    clearBelow: a.clearBelow,
    minDurationMs: a.minDurationMs,
  };
  if (a.unit !== undefined) body.unit = a.unit;
  body.reason = ctx.reason;
  body.raisedAt = a.raisedAt;
  body.durationMs = ctx.atMs - a.raisedAt;
  body.peak = null;
  body.raisedRunId = a.runId;
  if (ctx.reason === 'restart') body.captureLost = a.captureId === null ? null : (captureLost ?? true);
  return body;
}

/** A capture a previous run left unfinished or not completely acknowledged, whose alarms were already closed. */
export function buildCaptureLostMessage(c: OpenCapture, ctx: CloseContext): Record<string, unknown> {
  return {
    v: SCHEMA_VERSION,
    type: 'alarm',
    event: 'captureLost',
    reason: ctx.reason,
    captureId: c.captureId,
    alarmIds: c.alarmIds,
    thingName: ctx.thingName,
    site: ctx.site,
    area: ctx.area,
    mappingVersion: c.mappingVersion,
    runId: ctx.runId,
    seq: ctx.seq,
    tag: c.tag,
    nodeId: c.nodeId,
    at: ctx.atMs,
    raisedRunId: c.runId,
    // Handed over but not all acknowledged: some parts may have reached the sink (the sink stores an id once).
    recordsUnacknowledged: c.handedOver ? c.unacked : null,
  };
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
