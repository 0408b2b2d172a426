// How numbers are written into published JSON: safe integers exactly, everything else rounded to
// a fixed number of significant digits and then written in its shortest form, so 12.5 stays
// "12.5" and 0.1 + 0.2 becomes "0.3" instead of "0.30000000000000004". Values JSON cannot carry
// (NaN, ±Infinity) are written as null.

import { PublishConfigError } from './errors';

/** Significant digits when the configuration does not say: relative error stays under 1e-9. */
export const DEFAULT_SIGNIFICANT_DIGITS = 10;
/** More digits than a float64 holds (17) add nothing. */
export const MAX_SIGNIFICANT_DIGITS = 17;

/** Checks a significantDigits setting; throws PublishConfigError. */
export function checkSignificantDigits(digits: number): number {
  if (!Number.isInteger(digits) || digits < 1 || digits > MAX_SIGNIFICANT_DIGITS) {
    throw new PublishConfigError(`must be an integer in 1..${MAX_SIGNIFICANT_DIGITS}, got ${digits}`, { field: 'significantDigits' });
  }
  return digits;
}

/**
 * `x` as a JSON number with at most `digits` significant digits (relative error at most
 * 0.5 * 10^(1 - digits)). Safe integers are written in full: they are exact and never longer
 * than 16 characters, and counts, status codes and millisecond times must not be rounded.
 */
export function formatNumber(x: number, digits: number): string {
  if (Number.isSafeInteger(x)) return String(x); // String(-0) is "0"
  if (x !== x || x === Infinity || x === -Infinity) return 'null';
  // toPrecision rounds correctly (ECMA-262 Number.prototype.toPrecision); its only waste is
  // trailing zeros ("1.250000000", "1.250000000e-7"), cut here. Both forms are valid JSON numbers.
  // Measured at about a third of the cost of String(Number(x.toPrecision(digits))).
  const s = x.toPrecision(digits);
  const e = s.indexOf('e');
  let end = e < 0 ? s.length : e;
  if (e < 0 && s.indexOf('.') < 0) return s; // no fraction: "1235", nothing to cut
  while (s.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (s.charCodeAt(end - 1) === 46 /* . */) end--;
  if (e < 0) return end === s.length ? s : s.slice(0, end);
  return end === e ? s : s.slice(0, end) + s.slice(e);
}
