import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Severity, isBad, isGood, isUncertain, isValidStatusCode, severity } from '../../../../shared/reduction/status';

test('severity comes from the top two bits; the reserved 0b11 counts as Bad', () => {
  assert.equal(severity(0), Severity.Good);
  assert.equal(severity(0x00960000), Severity.Good); // Good_LocalOverride
  assert.equal(severity(0x40000000), Severity.Uncertain);
  assert.equal(severity(0x408f0000), Severity.Uncertain); // Uncertain_LastUsableValue
  assert.equal(severity(0x80000000), Severity.Bad);
  assert.equal(severity(0x80310000), Severity.Bad); // Bad_NoCommunication
  assert.equal(severity(0xc0000000), Severity.Bad);
});

test('isGood, isUncertain and isBad partition every status code', () => {
  for (const code of [0, 0x000000ff, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff]) {
    const flags = [isGood(code), isUncertain(code), isBad(code)].filter(Boolean);
    assert.equal(flags.length, 1, `0x${code.toString(16)}`);
  }
  assert.equal(isBad(0x80340000), true);
  assert.equal(isUncertain(0x40000000), true);
  assert.equal(isGood(0x00000400), true, 'info bits do not change severity');
});

test('a valid status code is a uint32', () => {
  assert.equal(isValidStatusCode(0), true);
  assert.equal(isValidStatusCode(0xffffffff), true);
  for (const bad of [-1, 0x100000000, 1.5, NaN, Infinity]) assert.equal(isValidStatusCode(bad), false, String(bad));
});
