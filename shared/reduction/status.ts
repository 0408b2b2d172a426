// OPC UA StatusCode helpers. The severity sits in the top two bits (Part 4, 7.39):
// 0b00 Good, 0b01 Uncertain, 0b10 Bad; 0b11 is reserved and is treated as Bad so that
// a malformed code can never pass as a value.

/** Severity of a StatusCode: the value of its top two bits, with the reserved 0b11 folded into Bad. */
export const Severity = { Good: 0, Uncertain: 1, Bad: 2 } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

/** The canonical Good code. */
export const STATUS_GOOD = 0x00000000;
/** The generic Uncertain code (severity bits 0b01, no sub-code). */
export const STATUS_UNCERTAIN = 0x40000000;
/** The generic Bad code (severity bits 0b10, no sub-code). */
export const STATUS_BAD = 0x80000000;

/** The severity of `code`; `code` is expected to be a uint32 (callers validate it first). */
export function severity(code: number): Severity {
  const bits = code >>> 30;
  return (bits === 3 ? 2 : bits) as Severity;
}

export function isGood(code: number): boolean {
  return code >>> 30 === 0;
}

export function isUncertain(code: number): boolean {
  return code >>> 30 === 1;
}

/** True for Bad and for the reserved severity 0b11. */
export function isBad(code: number): boolean {
  return code >>> 30 >= 2;
}

/** True when `code` is a uint32, the only shape a StatusCode has on the wire. */
export function isValidStatusCode(code: number): boolean {
  return code >>> 0 === code;
}
