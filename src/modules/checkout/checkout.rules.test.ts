import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  addShare,
  apportion,
  bestCombination,
  type CouponOption,
  cancelShare,
  combinationProblem,
  nothingCancelled,
} from './checkout.rules.ts';

const c = (
  couponId: string,
  discount: number,
  stacking: CouponOption['stacking'] = 'stackable',
  definitionId = couponId,
): CouponOption => ({ couponId, definitionId, discount, stacking });

test('the best combination under the stacking rules, on a table of cases', () => {
  const cases: [string, CouponOption[], number, { couponIds: string[]; discount: number }][] = [
    ['nothing applicable', [], 20_000, { couponIds: [], discount: 0 }],
    ['stackables add up', [c('a', 1_000), c('b', 2_000)], 20_000, { couponIds: ['b', 'a'], discount: 3_000 }],
    [
      'an exclusive beats stackables that add up to less',
      [c('a', 1_000), c('b', 2_000), c('x', 5_000, 'exclusive')],
      20_000,
      { couponIds: ['x'], discount: 5_000 },
    ],
    [
      'stackables beat an exclusive when together they give more',
      [c('a', 3_000), c('b', 3_000), c('x', 5_000, 'exclusive')],
      20_000,
      { couponIds: ['a', 'b'], discount: 6_000 },
    ],
    [
      'a tie goes to fewer coupons',
      [c('a', 2_500), c('b', 2_500), c('x', 5_000, 'exclusive')],
      20_000,
      { couponIds: ['x'], discount: 5_000 },
    ],
    [
      'two exclusives never combine',
      [c('x', 5_000, 'exclusive'), c('y', 4_000, 'exclusive')],
      20_000,
      { couponIds: ['x'], discount: 5_000 },
    ],
    [
      'one coupon per definition: the larger',
      [c('a1', 1_000, 'stackable', 'A'), c('a2', 1_500, 'stackable', 'A'), c('b', 500)],
      20_000,
      { couponIds: ['a2', 'b'], discount: 2_000 },
    ],
    // A percent coupon capped at 3,000 (already applied in its discount) against a 4,000 amount coupon.
    [
      'percent with its cap vs an amount, both exclusive',
      [c('pct', 3_000, 'exclusive'), c('amt', 4_000, 'exclusive')],
      50_000,
      { couponIds: ['amt'], discount: 4_000 },
    ],
    ['never more than the order', [c('a', 6_000), c('b', 6_000)], 10_000, { couponIds: ['a', 'b'], discount: 10_000 }],
    ['coupons with no effect are left out', [c('a', 0), c('b', 1_000)], 10_000, { couponIds: ['b'], discount: 1_000 }],
  ];
  for (const [name, options, amount, expected] of cases) assert.deepEqual(bestCombination(options, amount), expected, name);
});

test('the best combination is optimal: no valid subset gives more (exhaustive over small random sets)', () => {
  for (let run = 0; run < 300; run++) {
    const n = 1 + Math.floor(Math.random() * 6);
    const options = Array.from({ length: n }, (_, i) =>
      c(
        `c${i}`,
        Math.floor(Math.random() * 5) * 1_000,
        Math.random() < 0.3 ? 'exclusive' : 'stackable',
        `d${Math.floor(Math.random() * 4)}`,
      ),
    );
    const amount = 1_000 + Math.floor(Math.random() * 12) * 1_000;
    let best = 0;
    for (let mask = 1; mask < 1 << n; mask++) {
      const set = options.filter((_, i) => mask & (1 << i));
      if (combinationProblem(set)) continue;
      best = Math.max(
        best,
        Math.min(
          amount,
          set.reduce((s, o) => s + o.discount, 0),
        ),
      );
    }
    const chosen = bestCombination(options, amount);
    assert.equal(chosen.discount, best, JSON.stringify({ options, amount }));
    assert.equal(combinationProblem(options.filter((o) => chosen.couponIds.includes(o.couponId))), null);
  }
});

test('a chosen set is refused when it breaks a stacking rule', () => {
  assert.match(combinationProblem([c('x', 1, 'exclusive'), c('a', 1)])!.message, /exclusive/);
  assert.deepEqual(combinationProblem([c('a1', 1, 'stackable', 'A'), c('a2', 1, 'stackable', 'A')])!.details, {
    definitionId: 'A',
    coupons: ['a1', 'a2'],
  });
  assert.equal(combinationProblem([c('a', 1), c('b', 1)]), null);
});

test('apportion: shares between 0 and each part, adding up to the amount; everything left gives every part its rest', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 10_000_000_000 }), { minLength: 1, maxLength: 5 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (left, f) => {
        const total = left.reduce((s, x) => s + x, 0);
        const amount = Math.floor(total * f);
        const shares = apportion(amount, left);
        assert.equal(
          shares.reduce((s, x) => s + x, 0),
          amount,
        );
        shares.forEach((x, i) => assert.ok(x >= 0 && x <= left[i]!, `${x} of ${left[i]}`));
        assert.deepEqual(apportion(total, left), left);
      },
    ),
  );
  assert.throws(() => apportion(10, [1, 1, 1]), RangeError);
});

test('a cancel’s share: the discount stays with the order, the rest comes back in proportion', () => {
  // 20,000 order: 2,000 coupon, 3,000 points, 5,000 prepaid, 10,000 card; 100 points earned. Cancel 5,000 of it.
  const c = {
    orderAmount: 20_000,
    discount: 2_000,
    pointsUsed: 3_000,
    prepaidUsed: 5_000,
    paidAmount: 10_000,
    pointsEarned: 100,
  };
  const first = cancelShare(c, nothingCancelled(2), 5_000);
  assert.deepEqual(first, { amount: 5_000, discount: 500, points: 750, prepaid: 1_250, paid: 2_500, pointsEarned: 25 });
  // The rest gives back exactly what is left.
  assert.deepEqual(cancelShare(c, addShare(nothingCancelled(2), first), 15_000), {
    amount: 15_000,
    discount: 1_500,
    points: 2_250,
    prepaid: 3_750,
    paid: 7_500,
    pointsEarned: 75,
  });
});

test('cancelled in any number of steps, the shares add up to exactly what the checkout took (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5_000_000 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 0, maxLength: 6 }),
      (orderAmount, [d, p, pp, e], steps) => {
        const discount = Math.floor(orderAmount * d! * 0.5);
        const pointsUsed = Math.floor((orderAmount - discount) * p!);
        const prepaidUsed = Math.floor((orderAmount - discount - pointsUsed) * pp!);
        const c = {
          orderAmount,
          discount,
          pointsUsed,
          prepaidUsed,
          paidAmount: orderAmount - discount - pointsUsed - prepaidUsed,
          pointsEarned: Math.floor(orderAmount * e! * 0.05),
        };
        let was = nothingCancelled(1);
        for (const f of [...steps, 1]) {
          const share = cancelShare(c, was, Math.floor((orderAmount - was.amount) * f));
          assert.equal(share.discount + share.points + share.prepaid + share.paid, share.amount);
          for (const v of Object.values(share)) assert.ok(v >= 0);
          was = addShare(was, share);
        }
        assert.deepEqual(
          [was.amount, was.discount, was.points, was.prepaid, was.paid, was.pointsEarned],
          [orderAmount, discount, pointsUsed, prepaidUsed, c.paidAmount, c.pointsEarned],
        );
      },
    ),
  );
});
