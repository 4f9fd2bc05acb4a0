import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { qualifiedLevel, reviewDue } from './grades.rules.ts';

const LEVELS = [
  { code: 'BASIC', rank: 0, minOrders: 0, minAmount: 0, windowDays: 365 },
  { code: 'SILVER', rank: 1, minOrders: 3, minAmount: 0, windowDays: 90 },
  { code: 'GOLD', rank: 2, minOrders: 5, minAmount: 200_000, windowDays: 365 },
];

test('the highest level met, each in its own window; the lowest needs nothing', () => {
  assert.equal(qualifiedLevel(LEVELS, [], '2026-11-23').code, 'BASIC');
  const three = [1, 2, 3].map((i) => ({ day: `2026-11-0${i}`, orders: 1, amount: 10_000 }));
  assert.equal(qualifiedLevel(LEVELS, three, '2026-11-23').code, 'SILVER');
  assert.equal(qualifiedLevel(LEVELS, three, '2027-03-01').code, 'BASIC', 'out of the 90-day window');
  const big = [...three, { day: '2026-01-10', orders: 2, amount: 300_000 }];
  assert.equal(qualifiedLevel(LEVELS, big, '2026-11-23').code, 'GOLD');
  assert.equal(
    qualifiedLevel(LEVELS, [{ day: '2026-12-01', orders: 9, amount: 9e6 }], '2026-11-23').code,
    'BASIC',
    'the future does not count',
  );
});

test('property: more purchases never lower the grade', () => {
  const day = fc
    .integer({ min: 0, max: 400 })
    .map((n) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString().slice(0, 10));
  const activity = fc.array(
    fc.record({ day, orders: fc.integer({ min: 0, max: 3 }), amount: fc.integer({ min: 0, max: 100_000 }) }),
    { maxLength: 20 },
  );
  fc.assert(
    fc.property(activity, activity, (a, more) => {
      const today = '2026-12-31';
      assert.ok(qualifiedLevel(LEVELS, [...a, ...more], today).rank >= qualifiedLevel(LEVELS, a, today).rank);
    }),
  );
});

test('reviews: daily, monthly and quarterly', () => {
  assert.equal(reviewDue('monthly', null, '2026-11-23'), true);
  assert.equal(reviewDue('monthly', '2026-11-01', '2026-11-23'), false);
  assert.equal(reviewDue('monthly', '2026-10-31', '2026-11-01'), true);
  assert.equal(reviewDue('quarterly', '2026-10-01', '2026-12-31'), false);
  assert.equal(reviewDue('quarterly', '2026-09-30', '2026-10-01'), true);
  assert.equal(reviewDue('daily', '2026-11-22', '2026-11-23'), true);
  assert.equal(reviewDue('daily', '2026-11-23', '2026-11-23'), false);
});
