// What the cloud would see as open if this process died now: alarms raised whose closing event the
// nucleus has not accepted yet, and captures not yet completely acknowledged by conduit.FirehoseSink.
// The runtime feeds it; alarm-ledger-file.ts writes its snapshot to the work folder at every change,
// so that the next run can close, with reason "restart", whatever a crash (kill -9, power loss) left
// open (docs/burst.md, "Alarms and captures a run left open"). Pure: no clock, no I/O.

/** The file's format version; a reader refuses other versions rather than guess. */
export const LEDGER_VERSION = 1;

/** Everything needed to publish the alarm's closing event after this process is gone. */
export interface OpenAlarm {
  alarmId: string;
  /** The run that raised it. */
  runId: string;
  mappingVersion: string;
  tag: string;
  nodeId: string;
  unit?: string;
  on: string | null;
  raiseAt: number;
  clearBelow: number;
  minDurationMs: number;
  raisedAt: number;
  captureId: string | null;
  /** The alarm seq of the event that closes it, once queued; it leaves the ledger when that is published. */
  closeSeq?: number;
}

export interface OpenCapture {
  captureId: string;
  runId: string;
  mappingVersion: string;
  tag: string;
  nodeId: string;
  alarmIds: string[];
  /** Record ids handed to the sink and not acknowledged yet; empty while the capture is still recording. */
  unacked: string[];
  /** True once its records were handed over (then it leaves the ledger when `unacked` is empty). */
  handedOver: boolean;
  /** As for alarms: set when this run queued the event saying the capture was lost. */
  closeSeq?: number;
}

export interface LedgerSnapshot {
  v: typeof LEDGER_VERSION;
  alarms: OpenAlarm[];
  captures: OpenCapture[];
}

export class AlarmLedger {
  private readonly alarms = new Map<string, OpenAlarm>();
  private readonly captures = new Map<string, OpenCapture>();
  /** Record id → its capture. */
  private readonly recordOf = new Map<string, string>();
  /** Bumped at every change: the file is written when it moved. */
  revision = 0;

  /** Entries a previous run left open: kept (and written) until this run has published their close. */
  constructor(inherited?: LedgerSnapshot) {
    for (const a of inherited?.alarms ?? []) this.alarms.set(a.alarmId, { ...a });
    for (const c of inherited?.captures ?? []) {
      this.captures.set(c.captureId, { ...c, unacked: [...c.unacked] });
      for (const id of c.unacked) this.recordOf.set(id, c.captureId);
    }
  }

  get empty(): boolean {
    return this.alarms.size === 0 && this.captures.size === 0;
  }

  /** Must be called before the raise event is queued, and the snapshot written, so no raise can beat it. */
  raised(alarm: OpenAlarm, capture?: Omit<OpenCapture, 'unacked' | 'handedOver' | 'alarmIds'>): void {
    this.alarms.set(alarm.alarmId, { ...alarm });
    if (capture) {
      const known = this.captures.get(capture.captureId);
      if (known) known.alarmIds.push(alarm.alarmId);
      else this.captures.set(capture.captureId, { ...capture, alarmIds: [alarm.alarmId], unacked: [], handedOver: false });
    }
    this.revision++;
  }

  /** The event closing `alarmId` (a clear, a stop, a restart close) is queued with alarm seq `seq`. */
  closing(alarmId: string, seq: number): void {
    const a = this.alarms.get(alarmId);
    if (!a) return;
    a.closeSeq = seq;
    this.revision++;
  }

  /** The event saying `captureId` was lost is queued with alarm seq `seq`. */
  captureClosing(captureId: string, seq: number): void {
    const c = this.captures.get(captureId);
    if (!c) return;
    c.closeSeq = seq;
    this.revision++;
  }

  /** The nucleus accepted (or refused for good) alarm event `seq`: what it closed is closed. */
  published(seq: number): void {
    let changed = false;
    for (const [id, a] of this.alarms) {
      if (a.closeSeq === seq) {
        this.alarms.delete(id);
        changed = true;
      }
    }
    for (const [id, c] of this.captures) {
      if (c.closeSeq === seq) {
        this.dropCapture(id, c);
        changed = true;
      }
    }
    if (changed) this.revision++;
  }

  /** A capture finished and its records go to the sink. */
  handedOver(captureId: string, recordIds: readonly string[]): void {
    const c = this.captures.get(captureId);
    if (!c) return;
    c.handedOver = true;
    c.unacked = [...recordIds];
    for (const id of recordIds) this.recordOf.set(id, captureId);
    if (c.unacked.length === 0) this.dropCapture(captureId, c);
    this.revision++;
  }

  /**
   * Records the sink settled: stored (acknowledged) or, for eviction and refusal, logged as lost at
   * ERROR where it happened. Either way nothing waits for them any more.
   */
  settled(recordIds: readonly string[]): void {
    let changed = false;
    for (const id of recordIds) {
      const captureId = this.recordOf.get(id);
      if (captureId === undefined) continue;
      this.recordOf.delete(id);
      const c = this.captures.get(captureId);
      if (!c) continue;
      c.unacked = c.unacked.filter((r) => r !== id);
      if (c.unacked.length === 0 && c.handedOver && c.closeSeq === undefined) this.dropCapture(captureId, c);
      changed = true;
    }
    if (changed) this.revision++;
  }

  /** Alarms of `runId` with no closing event queued yet (stop, reconfigure: this run closes them itself). */
  openAlarmsOf(runId: string): OpenAlarm[] {
    return [...this.alarms.values()].filter((a) => a.runId === runId && a.closeSeq === undefined);
  }

  /** Alarms and captures of other runs with no closing event queued yet: what this run must close. */
  leftOpenBy(runId: string): { alarms: OpenAlarm[]; captures: OpenCapture[] } {
    return {
      alarms: [...this.alarms.values()].filter((a) => a.runId !== runId && a.closeSeq === undefined),
      captures: [...this.captures.values()].filter((c) => c.runId !== runId && c.closeSeq === undefined),
    };
  }

  capture(captureId: string): OpenCapture | undefined {
    return this.captures.get(captureId);
  }

  /** Counts for the stop line: what a next run will have to close. */
  counts(): { alarms: number; captures: number; unackedRecords: number } {
    let unackedRecords = 0;
    for (const c of this.captures.values()) unackedRecords += c.unacked.length;
    return { alarms: this.alarms.size, captures: this.captures.size, unackedRecords };
  }

  snapshot(): LedgerSnapshot {
    return {
      v: LEDGER_VERSION,
      alarms: [...this.alarms.values()].map((a) => ({ ...a })),
      captures: [...this.captures.values()].map((c) => ({ ...c, unacked: [...c.unacked], alarmIds: [...c.alarmIds] })),
    };
  }

  private dropCapture(id: string, c: OpenCapture): void {
    for (const r of c.unacked) this.recordOf.delete(r);
    this.captures.delete(id);
  }
}

/** Checks a parsed file; throws with what is wrong (the caller logs it and starts with an empty ledger). */
export function parseLedger(raw: unknown): LedgerSnapshot {
  const o = raw as Partial<LedgerSnapshot> | null;
  if (!o || typeof o !== 'object') throw new Error('not a JSON object');
  if (o.v !== LEDGER_VERSION) throw new Error(`version ${String(o.v)}, this collector reads version ${LEDGER_VERSION}`);
  if (!Array.isArray(o.alarms) || !Array.isArray(o.captures)) throw new Error('alarms and captures must be arrays');
  for (const a of o.alarms) {
    if (typeof a?.alarmId !== 'string' || typeof a.runId !== 'string' || typeof a.tag !== 'string' || typeof a.raisedAt !== 'number') throw new Error('an alarm lacks alarmId, runId, tag or raisedAt');
  }
  for (const c of o.captures) {
    if (typeof c?.captureId !== 'string' || typeof c.runId !== 'string' || !Array.isArray(c.unacked) || !Array.isArray(c.alarmIds)) throw new Error('a capture lacks captureId, runId, unacked or alarmIds');
  }
  // A close queued by the run that wrote the file was not published: this run closes it again.
  return {
    v: LEDGER_VERSION,
    alarms: o.alarms.map(({ closeSeq: _closeSeq, ...a }) => a),
    captures: o.captures.map(({ closeSeq: _closeSeq, ...c }) => c),
  };
}
