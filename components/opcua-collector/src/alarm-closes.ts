// The closing events the collector decides itself, from the alarm ledger (alarm-ledger.ts): for what
// a previous run left open (reason "restart"), and for this run's own alarms at a stop or when a live
// update replaces the pipeline. Pure: the runtime passes `queue`, which puts an event in the ordered
// publish queue and returns its alarm seq (undefined in shadow mode: nothing is published).
import type { AlarmLedger, OpenCapture } from './alarm-ledger';
import { buildCaptureLostMessage, buildCloseMessage, type CloseContext } from './alarm-message';

export type QueueClose = (build: (ctx: CloseContext) => Record<string, unknown>, reason: CloseContext['reason']) => number | undefined;

export interface LeftOpenSummary {
  alarms: string[];
  lostCaptures: string[];
  /** Captures whose every owed record was found on disk: handed over again, not lost. */
  recoveredCaptures: string[];
}

/**
 * Every alarm and capture another run left open (it was killed, or its stop ran out of time) gets a
 * closing event with reason "restart", saying whether the capture was lost. They stay in the ledger
 * until the nucleus accepted that event, so a run killed before that closes them again. A capture is
 * not lost when it had been handed over and every record it still owed the sink is among `recovered`
 * (found on disk), or when the run died after writing it to disk but before its ledger said so: it is
 * handed over again and stays in the ledger until the sink has it.
 * Returns undefined when nothing was left open.
 */
export function closeLeftOpen(ledger: AlarmLedger, runId: string, recovered: ReadonlySet<string>, queue: QueueClose): LeftOpenSummary | undefined {
  const left = ledger.leftOpenBy(runId);
  // Record ids are `<captureId>/<n>` (shared/burst/capture-record.ts), and a capture is written to
  // disk whole, before the ledger records the hand-off: a run killed between the two left it on disk.
  const onDisk = (c: OpenCapture): boolean => [...recovered].some((id) => id.startsWith(`${c.captureId}/`));
  const alive = (c: OpenCapture): boolean => (c.handedOver ? c.unacked.every((id) => recovered.has(id)) : onDisk(c));
  // Found on disk but not yet marked handed over: it is now (the next hand-off acks settle it).
  for (const c of left.captures) {
    if (!c.handedOver && onDisk(c)) ledger.handedOver(c.captureId, [...recovered].filter((id) => id.startsWith(`${c.captureId}/`)));
  }
  const captures = left.captures.filter((c) => !alive(c));
  if (left.alarms.length + captures.length === 0) return undefined;
  const closedCaptures = new Set<string>();
  for (const a of left.alarms) {
    const capture = a.captureId === null ? undefined : ledger.capture(a.captureId);
    const lost = capture !== undefined && !alive(capture);
    const seq = queue((ctx) => buildCloseMessage(a, ctx, lost), 'restart');
    if (seq === undefined) continue;
    ledger.closing(a.alarmId, seq);
    // The alarm's close says the capture was lost: no separate event for it.
    if (lost && !closedCaptures.has(capture.captureId)) {
      ledger.captureClosing(capture.captureId, seq);
      closedCaptures.add(capture.captureId);
    }
  }
  for (const c of captures) {
    if (closedCaptures.has(c.captureId)) continue;
    const seq = queue((ctx) => buildCaptureLostMessage(c, ctx), 'restart');
    if (seq !== undefined) ledger.captureClosing(c.captureId, seq);
  }
  return {
    alarms: left.alarms.map((a) => a.alarmId),
    lostCaptures: [...new Set([...closedCaptures, ...captures.map((c) => c.captureId)])],
    recoveredCaptures: left.captures.filter(alive).map((c) => c.captureId),
  };
}

/** This run's open alarms, closed by the collector (stop, pipeline replaced); their captures go on to the sink. Returns the alarms closed. */
export function closeOwnAlarms(ledger: AlarmLedger, runId: string, reason: 'stop' | 'reconfigure', queue: QueueClose): { alarmId: string; tag: string; captureId: string | null }[] {
  const closed = [];
  for (const a of ledger.openAlarmsOf(runId)) {
    const seq = queue((ctx) => buildCloseMessage(a, ctx), reason);
    if (seq === undefined) continue;
    ledger.closing(a.alarmId, seq);
    closed.push({ alarmId: a.alarmId, tag: a.tag, captureId: a.captureId });
  }
  return closed;
}
