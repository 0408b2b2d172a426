// node-opcua decodes Int64 and UInt64 as [high, low], two unsigned 32-bit halves, because a
// JavaScript number cannot hold every 64-bit integer. Counters (parts produced, operating hours in
// ms, energy in Wh) are often UInt64 on a PLC, and their values stay far below 2^53, where a
// number is exact: those become numbers here. A value beyond ±2^53 is left as the pair, which the
// sample gate drops and counts as wrongType, rather than published as a rounded count.

const TWO_32 = 4_294_967_296;
/** |high half| below this keeps |value| within 2^53. */
const SAFE_HIGH = 2_097_152;

/** The number a [high, low] pair stands for, or the input unchanged when it is not a pair or not exact as a number. */
export function int64ToNumber(v: unknown, signed: boolean): unknown {
  if (!Array.isArray(v) || v.length !== 2) return v;
  const hi = v[0] as unknown;
  const lo = v[1] as unknown;
  if (typeof hi !== 'number' || typeof lo !== 'number') return v;
  // Two's complement: a high half with its top bit set is negative for Int64.
  const high = signed && hi >= 0x8000_0000 ? hi - TWO_32 : hi;
  if (high >= SAFE_HIGH || high < -SAFE_HIGH) return v;
  return high * TWO_32 + lo;
}
