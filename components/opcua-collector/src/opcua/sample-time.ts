// The time of a sample, from whatever the server sends. Pure: the arrival time is an argument.
//
// 1. The source timestamp when the server sends one: the time the value was true at the device.
//    Never altered — two samples with the same source time are a real duplicate.
// 2. Else the server timestamp (the subscription asks for both, see subscription.ts).
// 3. Else the arrival rule: the n-th of N values of one monitored item in one Publish response gets
//    arrival − (N − 1 − n) × the item's revised sampling interval, i.e. the values are spread
//    backwards from the arrival at the rate the server samples them; the newest is the arrival.
// Times from rules 2 and 3 are then made strictly increasing per tag (at least 1 ms after the tag's
// previous sample): a server that stamps a whole publish with one server time, or a backward spread
// that reaches behind the previous response, must not make the sample gate drop a sample as a
// duplicate or out of order. Every sample is kept; its time is an estimate, which is why these tags
// are counted and warned about.

/** How a sample's time was taken. */
export const TIME_SOURCE = 0;
export const TIME_SERVER = 1;
export const TIME_ARRIVAL = 2;
export type TimeOrigin = typeof TIME_SOURCE | typeof TIME_SERVER | typeof TIME_ARRIVAL;

/** A Date the server really sent: node-opcua gives null for an absent one; OPC UA's null DateTime (1601) is negative. */
export function presentMs(d: Date | null | undefined): number {
  const ms = d ? d.getTime() : NaN;
  return ms > 0 ? ms : NaN;
}

/** Per-tag state of the rule for one connection, and what it counted. */
export class SampleClock {
  private last: Float64Array;
  /** Per tag: bit 1 = some sample had no source timestamp; bit 2 = some had no timestamp at all. */
  private flags: Uint8Array;
  /** Samples timed by the server timestamp / by the arrival rule. */
  timedByServer = 0;
  timedByArrival = 0;
  /** Tags with at least one sample without a source timestamp; of those, tags with one without any timestamp. */
  tagsWithoutSource = 0;
  tagsWithoutAny = 0;
  /** The origin of the last call's time. */
  origin: TimeOrigin = TIME_SOURCE;

  constructor(tagCount: number) {
    this.last = new Float64Array(tagCount).fill(-Infinity);
    this.flags = new Uint8Array(tagCount);
  }

  /**
   * The time of one sample of `tag`. `laterInResponse`: how many more values of the same monitored
   * item follow it in the same Publish response; `intervalMs`: the item's revised sampling interval.
   */
  timeOf(tag: number, sourceMs: number, serverMs: number, arrivalMs: number, laterInResponse: number, intervalMs: number): number {
    let t: number;
    if (sourceMs > 0) {
      this.origin = TIME_SOURCE;
      t = sourceMs;
    } else {
      let bits = 1;
      if (serverMs > 0) {
        this.origin = TIME_SERVER;
        this.timedByServer++;
        t = serverMs;
      } else {
        this.origin = TIME_ARRIVAL;
        this.timedByArrival++;
        bits = 3;
        t = arrivalMs - laterInResponse * Math.max(1, intervalMs);
      }
      const prev = this.last[tag] ?? -Infinity;
      if (!(t > prev)) t = prev + 1;
      const f = this.flags[tag] ?? 0;
      if ((f & 1) === 0) this.tagsWithoutSource++;
      if ((f & 2) === 0 && bits === 3) this.tagsWithoutAny++;
      if (tag < this.flags.length) this.flags[tag] = f | bits;
    }
    if (tag < this.last.length && t > this.last[tag]!) this.last[tag] = t;
    return t;
  }

  /** Tags (in order) whose samples lacked a source timestamp; `withoutAny`: also no server timestamp. */
  tagsLacking(): { withoutSource: number[]; withoutAny: number[] } {
    const withoutSource: number[] = [];
    const withoutAny: number[] = [];
    for (let i = 0; i < this.flags.length; i++) {
      if (this.flags[i]! & 1) withoutSource.push(i);
      if (this.flags[i]! & 2) withoutAny.push(i);
    }
    return { withoutSource, withoutAny };
  }

  /** A live mapping change: state follows the kept tags to their new numbers. */
  renumber(tagCount: number, renumber: ReadonlyMap<number, number>): void {
    const last = new Float64Array(tagCount).fill(-Infinity);
    const flags = new Uint8Array(tagCount);
    let withoutSource = 0;
    let withoutAny = 0;
    for (const [from, to] of renumber) {
      if (to < 0 || to >= tagCount || from >= this.last.length) continue;
      last[to] = this.last[from]!;
      flags[to] = this.flags[from]!;
      if (flags[to]! & 1) withoutSource++;
      if (flags[to]! & 2) withoutAny++;
    }
    this.last = last;
    this.flags = flags;
    this.tagsWithoutSource = withoutSource;
    this.tagsWithoutAny = withoutAny;
  }
}
