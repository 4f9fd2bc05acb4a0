import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkUse, earnAmount, expiryOf } from './points.rules.ts';
import { ZPointPolicySettings } from './points.schemas.ts';

const policy = ZPointPolicySettings.parse({});

test('earn amounts round by the policy and stay exact on integers', () => {
  assert.equal(earnAmount(12_345, 100, 'floor'), 123);
  assert.equal(earnAmount(12_350, 100, 'round'), 124);
  assert.equal(earnAmount(12_301, 100, 'ceil'), 124);
  assert.equal(earnAmount(10_000, 150, 'ceil'), 150);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 10_000 }), (paid, bp) => {
      const f = earnAmount(paid, bp, 'floor');
      const c = earnAmount(paid, bp, 'ceil');
      assert.ok(Number.isSafeInteger(f) && f <= (paid * bp) / 10_000 && c >= (paid * bp) / 10_000 && c - f <= 1);
    }),
  );
});

test('expiry: N months on, rounded to the end of the day, month or year in the tenant time zone', () => {
  const at = new Date('2026-01-31T16:00:00Z'); // 2026-02-01 01:00 in Seoul
  const seoul = 'Asia/Seoul';
  assert.equal(expiryOf(at, { months: 12, roundTo: 'end_of_month' }, seoul)?.toISOString(), '2027-02-28T15:00:00.000Z');
  assert.equal(expiryOf(at, { months: 1, roundTo: 'day' }, seoul)?.toISOString(), '2026-02-28T15:00:00.000Z');
  assert.equal(expiryOf(at, { months: 1, roundTo: 'end_of_year' }, seoul)?.toISOString(), '2026-12-31T15:00:00.000Z');
  assert.equal(
    expiryOf(new Date('2026-03-31T03:00:00Z'), { months: 11, roundTo: 'day' }, seoul)?.toISOString(),
    '2027-02-27T15:00:00.000Z',
  );
  assert.equal(expiryOf(at, { months: 0, roundTo: 'day' }, seoul), undefined);
  // New York changes its offset in March: midnight is still local midnight.
  assert.equal(
    expiryOf(new Date('2026-01-15T12:00:00Z'), { months: 2, roundTo: 'end_of_month' }, 'America/New_York')?.toISOString(),
    '2026-04-01T04:00:00.000Z',
  );
});

test('a use is checked in order: channel, unit, minimum balance, maxima, balance', () => {
  const p = { ...policy, useUnit: 10, minBalanceToUse: 1000, maxUsePerOrder: 5000, maxUseRatioBp: 5000 };
  const code = (u: Parameters<typeof checkUse>[1]) => checkUse(p, u)?.code;
  assert.equal(code({ amount: 100, channel: 'app', orderAmount: 1000, available: 2000 }), undefined);
  assert.equal(code({ amount: 105, channel: 'app', orderAmount: 1000, available: 2000 }), 'POINTS_USE_UNIT');
  assert.equal(code({ amount: 100, channel: 'app', orderAmount: 1000, available: 999 }), 'BELOW_MINIMUM_USE');
  assert.equal(code({ amount: 6000, channel: 'app', orderAmount: 100_000, available: 9000 }), 'POINTS_MAX_USE_EXCEEDED');
  assert.equal(code({ amount: 600, channel: 'app', orderAmount: 1000, available: 9000 }), 'POINTS_MAX_USE_EXCEEDED');
  assert.equal(code({ amount: 3000, channel: 'app', orderAmount: 10_000, available: 2000 }), 'INSUFFICIENT_POINTS');
  assert.equal(
    checkUse({ ...p, useChannels: ['app'] }, { amount: 100, channel: 'offline', orderAmount: 1000, available: 2000 })?.code,
    'POINTS_CHANNEL_NOT_ALLOWED',
  );
  assert.deepEqual(checkUse(p, { amount: 100, channel: 'app', orderAmount: 1000, available: 999 })?.details, {
    minimum: 1000,
    available: 999,
  });
});

test('earnAmount is exact for amounts near the maximum (the product passes 2^53)', () => {
  assert.equal(earnAmount(999_999_999_999, 9_999, 'floor'), 999_899_999_999);
  assert.equal(earnAmount(999_999_999_999, 9_999, 'ceil'), 999_900_000_000);
});
