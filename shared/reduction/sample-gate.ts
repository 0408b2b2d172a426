// SampleGate: the first stage for every tag. It decides, per sample and without allocating,
// whether the sample carries a usable value, only a status, or must be dropped; and it keeps the
// per-tag source-time order that every later stage relies on.

import { type StageCounters, droppedSnapshot } from './contracts';
import { ReductionConfigError } from './errors';

/** What a tag's values must be. `any` accepts every defined, non-NaN, finite-if-numeric value. */
export type SampleKind = 'numeric' | 'boolean' | 'string' | 'any';

const SAMPLE_KINDS: readonly SampleKind[] = ['numeric', 'boolean', 'string', 'any'];
const KIND_NUMERIC = 0;
const KIND_BOOLEAN = 1;
const KIND_STRING = 2;

/**
 * The outcome of `SampleGate.check`. Codes below `Gate.DROPPED` pass the sample on; every other code
 * is the reason it was dropped, and the sample must not reach later stages.
 */
export const Gate = {
  /** Good status and a value of the expected kind: pass value and status on. */
  VALUE: 0,
  /**
   * Bad or Uncertain status: pass the status on and ignore the value (windows count it in
   * `badCount`, encoders report the status change). Not an error, so not counted as dropped.
   */
  STATUS_ONLY: 1,
  /** First drop code; `code >= Gate.DROPPED` means dropped. */
  DROPPED: 2,
  UNKNOWN_TAG: 2,
  INVALID_STATUS: 3,
  INVALID_TIMESTAMP: 4,
  OUT_OF_ORDER: 5,
  DUPLICATE: 6,
  WRONG_TYPE: 7,
  NAN: 8,
  INFINITE: 9,
} as const;
export type GateCode = (typeof Gate)[keyof typeof Gate];

/** Why the gate dropped a sample; index `i` in this list is drop code `Gate.DROPPED + i`. */
export type GateDropReason =
  | 'unknownTag'
  | 'invalidStatus'
  | 'invalidTimestamp'
  | 'outOfOrder'
  | 'duplicate'
  | 'wrongType'
  | 'nan'
  | 'infinite';

const DROP_REASONS: readonly GateDropReason[] = [
  'unknownTag',
  'invalidStatus',
  'invalidTimestamp',
  'outOfOrder',
  'duplicate',
  'wrongType',
  'nan',
  'infinite',
];

export interface SampleGateCounters extends StageCounters<GateDropReason> {
  /** Samples passed on as `Gate.STATUS_ONLY`, by severity (included in `emitted`). */
  statusOnly: { bad: number; uncertain: number };
}

/** Configuration of a gate: the expected kind of each tag, indexed by tag number. */
export interface SampleGateConfig {
  kinds: readonly SampleKind[];
}

/** The largest number of tags one gate accepts; beyond it a component should be split. */
export const MAX_TAGS = 1_000_000;

export class SampleGate {
  readonly tagCount: number;
  private readonly kind: Uint8Array;
  /** Source time of the last sample passed per tag; -Infinity until the first one. */
  private readonly lastTime: Float64Array;
  // Counters live in float64 slots: a uint32 would wrap after ~12 h at 100,000 samples/s.
  private readonly dropCounts = new Float64Array(DROP_REASONS.length);
  private received = 0;
  private passedValue = 0;
  private passedBad = 0;
  private passedUncertain = 0;

  constructor(config: SampleGateConfig) {
    const kinds = config?.kinds;
    if (!Array.isArray(kinds)) throw new ReductionConfigError('kinds must be an array of sample kinds');
    if (kinds.length > MAX_TAGS) throw new ReductionConfigError(`at most ${MAX_TAGS} tags, got ${kinds.length}`);
    this.tagCount = kinds.length;
    this.kind = new Uint8Array(kinds.length);
    this.lastTime = new Float64Array(kinds.length).fill(-Infinity);
    for (let tag = 0; tag < kinds.length; tag++) {
      const k = SAMPLE_KINDS.indexOf(kinds[tag]!);
      if (k < 0) throw new ReductionConfigError(`kind must be one of ${SAMPLE_KINDS.join(', ')}, got ${String(kinds[tag])}`, { tag });
      this.kind[tag] = k;
    }
  }

  /**
   * Classifies one sample and, if it passes, records its source time as the tag's last accepted
   * time. Checks run in this order and the first failure is the one counted: tag, status code,
   * timestamp, order, then (Good samples only) the value.
   *
   * Uncertain is treated like Bad for values: an Uncertain reading may be a substituted or stale
   * value, and mixing it into an RMS or a deadband decision would hide that. It passes on as
   * `STATUS_ONLY` and is counted in `statusOnly.uncertain`.
   */
  check(tag: number, sourceTimeMs: number, value: unknown, statusCode: number): GateCode {
    this.received++;
    // Fast path for the common case, a Good finite number later than the tag's last sample. It is
    // kept small on purpose so V8 inlines it into the runtime's loop (a call that is not inlined
    // boxes its double arguments, i.e. allocates per sample); everything else goes to `classify`.
    if (
      tag >>> 0 === tag &&
      tag < this.tagCount &&
      this.kind[tag] === KIND_NUMERIC &&
      typeof value === 'number' &&
      value - value === 0 && // finite: NaN and +-Infinity give NaN
      statusCode >>> 0 === statusCode &&
      statusCode < 0x40000000 && // severity Good
      Number.isFinite(sourceTimeMs) && // also rejects a numeric string, which `>` would coerce
      sourceTimeMs > this.lastTime[tag]!
    ) {
      this.passedValue++;
      this.lastTime[tag] = sourceTimeMs;
      return Gate.VALUE;
    }
    return this.classify(tag, sourceTimeMs, value, statusCode);
  }

  /** The full check, in the documented order; `received` is already counted. */
  private classify(tag: number, sourceTimeMs: number, value: unknown, statusCode: number): GateCode {
    let code: GateCode;
    if (tag >>> 0 !== tag || tag >= this.tagCount) code = Gate.UNKNOWN_TAG;
    else if (statusCode >>> 0 !== statusCode) code = Gate.INVALID_STATUS;
    else if (!Number.isFinite(sourceTimeMs)) code = Gate.INVALID_TIMESTAMP;
    else {
      const last = this.lastTime[tag]!;
      if (sourceTimeMs < last) code = Gate.OUT_OF_ORDER;
      else if (sourceTimeMs === last) code = Gate.DUPLICATE;
      else if (statusCode >>> 30 !== 0) {
        if (statusCode >>> 30 === 1) this.passedUncertain++;
        else this.passedBad++;
        this.lastTime[tag] = sourceTimeMs;
        return Gate.STATUS_ONLY;
      } else {
        code = this.checkValue(this.kind[tag]!, value);
        if (code === Gate.VALUE) {
          this.passedValue++;
          this.lastTime[tag] = sourceTimeMs;
          return code;
        }
      }
    }
    this.dropCounts[code - Gate.DROPPED]++;
    return code;
  }

  private checkValue(kind: number, value: unknown): GateCode {
    if (kind === KIND_NUMERIC) {
      if (typeof value !== 'number') return Gate.WRONG_TYPE;
      if (value !== value) return Gate.NAN;
      return value === Infinity || value === -Infinity ? Gate.INFINITE : Gate.VALUE;
    }
    if (kind === KIND_BOOLEAN) return typeof value === 'boolean' ? Gate.VALUE : Gate.WRONG_TYPE;
    if (kind === KIND_STRING) return typeof value === 'string' ? Gate.VALUE : Gate.WRONG_TYPE;
    // `any`: undefined is the absence of a value, and NaN/Infinity cannot be carried in JSON.
    if (value === undefined) return Gate.WRONG_TYPE;
    if (typeof value === 'number') {
      if (value !== value) return Gate.NAN;
      if (value === Infinity || value === -Infinity) return Gate.INFINITE;
    }
    return Gate.VALUE;
  }

  /** Source time of the last sample passed for `tag`, or -Infinity if none (or unknown tag). */
  lastAcceptedTime(tag: number): number {
    return tag >>> 0 === tag && tag < this.tagCount ? this.lastTime[tag]! : -Infinity;
  }

  /**
   * Forgets the last accepted time of `tag`, so the next sample passes whatever its timestamp.
   * For the runtime to call when it knows the source's clock was reset (e.g. after a reconnect to a
   * server whose clock jumped back); otherwise that tag would be dropped as `outOfOrder` until its
   * clock caught up.
   */
  resetTag(tag: number): void {
    if (tag >>> 0 === tag && tag < this.tagCount) this.lastTime[tag] = -Infinity;
  }

  counters(): SampleGateCounters {
    return {
      received: this.received,
      emitted: this.passedValue + this.passedBad + this.passedUncertain,
      dropped: droppedSnapshot(DROP_REASONS, this.dropCounts),
      statusOnly: { bad: this.passedBad, uncertain: this.passedUncertain },
    };
  }
}

/** True when a `check` result means the sample goes on to later stages. */
export function passes(code: GateCode): boolean {
  return code < Gate.DROPPED;
}
