import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CheckContext, checkCoupon, discountOf, localClock, validityOf } from './coupons.rules.ts';
import { type TOrderContext, ZCouponRules } from './coupons.schemas.ts';

const rules = (r: object) =>
  ZCouponRules.parse({ benefit: { kind: 'amount', amount: 3_000 }, validity: { kind: 'days', days: 30 }, ...r });
const order = (o: Partial<TOrderContext> = {}): TOrderContext => ({
  orderId: 'o1',
  channel: 'offline',
  storeId: 'st-gangnam',
  items: [
    { productId: 'americano', quantity: 2, unitPrice: 4_500 },
    { productId: 'cake', quantity: 1, unitPrice: 7_000 },
  ],
  deliveryFee: 0,
  ...o,
});
// Wednesday 2027-03-03, 14:30 in Seoul.
const NOW = new Date('2027-03-03T05:30:00Z');
const ctx = (o: Partial<CheckContext> = {}): CheckContext => ({
  now: NOW,
  timeZone: 'Asia/Seoul',
  definitionStatus: 'active',
  coupon: { status: 'active', validFrom: new Date('2027-03-01T00:00:00Z'), validUntil: new Date('2027-04-01T00:00:00Z') },
  grade: 'SILVER',
  storeRegion: '서울',
  memberUses: 0,
  order: order(),
  ...o,
});

test('each rule refuses with its own code and the values involved, in a fixed order', () => {
  const cases: [object, Partial<CheckContext>, string, Record<string, unknown>?][] = [
    [{}, { coupon: { status: 'used', validFrom: NOW, validUntil: NOW } }, 'COUPON_ALREADY_USED'],
    [
      {},
      {
        coupon: {
          status: 'active',
          validFrom: NOW,
          validUntil: new Date('2027-04-01T00:00:00Z'),
          heldUntil: new Date('2027-03-03T05:40:00Z'),
        },
      },
      'COUPON_HELD',
      { heldUntil: '2027-03-03T05:40:00.000Z' },
    ],
    [{}, { definitionStatus: 'paused' }, 'COUPON_NOT_ACTIVE', { status: 'paused' }],
    [{}, { now: new Date('2027-04-01T00:00:00Z') }, 'COUPON_EXPIRED'],
    [{}, { now: new Date('2027-02-28T00:00:00Z') }, 'COUPON_NOT_YET_VALID'],
    [{ usesPerMember: 1 }, { memberUses: 1 }, 'COUPON_MEMBER_USE_LIMIT', { usesPerMember: 1, used: 1 }],
    [{ grades: ['GOLD', 'VIP'] }, {}, 'COUPON_GRADE_NOT_ELIGIBLE', { grade: 'SILVER', grades: ['GOLD', 'VIP'] }],
    [{ channels: ['app'] }, {}, 'COUPON_WRONG_CHANNEL', { channel: 'offline', channels: ['app'] }],
    [{ serviceTypes: ['delivery'] }, {}, 'COUPON_WRONG_SERVICE_TYPE', { serviceType: null }],
    [{ stores: ['st-jamsil'] }, {}, 'COUPON_STORE_NOT_ELIGIBLE', { storeId: 'st-gangnam', stores: ['st-jamsil'] }],
    [{ regions: ['부산'] }, {}, 'COUPON_REGION_NOT_ELIGIBLE', { region: '서울', regions: ['부산'] }],
    [{ weekdays: [0, 6] }, {}, 'COUPON_OUTSIDE_HOURS', { weekday: 3, time: '14:30' }],
    [{ hours: [{ from: '07:00', to: '11:00' }] }, {}, 'COUPON_OUTSIDE_HOURS', { time: '14:30' }],
    [{ minOrderAmount: 20_000 }, {}, 'COUPON_MIN_ORDER', { minOrderAmount: 20_000, orderAmount: 16_000, missing: 4_000 }],
    [{ conditionProducts: ['latte'] }, {}, 'COUPON_CONDITION_PRODUCTS'],
    [{ benefit: { kind: 'free_item', productId: 'cookie' } }, {}, 'COUPON_NO_EFFECT'],
    [{ benefit: { kind: 'delivery' } }, {}, 'COUPON_NO_EFFECT'],
  ];
  for (const [r, c, code, details] of cases) {
    const result = checkCoupon(rules(r), ctx(c));
    assert.equal(result.ok, false, code);
    if (result.ok) continue;
    assert.equal(result.code, code, JSON.stringify(r));
    for (const [k, v] of Object.entries(details ?? {})) assert.deepEqual(result.details[k], v, `${code}.${k}`);
  }
  // Inside the window and on the day it applies.
  assert.deepEqual(
    checkCoupon(rules({ weekdays: [3], hours: [{ from: '14:00', to: '15:00' }], minOrderAmount: 16_000 }), ctx()),
    { ok: true, discount: 3_000 },
  );
});

test('what each benefit takes off', () => {
  const o = order({ deliveryFee: 3_000, serviceType: 'delivery' });
  assert.equal(discountOf(rules({ benefit: { kind: 'amount', amount: 50_000 } }), o), 16_000, 'never more than the order');
  assert.equal(discountOf(rules({ benefit: { kind: 'percent', percentBp: 1_500 } }), o), 2_400);
  assert.equal(
    discountOf(rules({ benefit: { kind: 'percent', percentBp: 1_500, maxDiscount: 2_000 } }), o),
    2_000,
    'percent with its cap',
  );
  assert.equal(
    discountOf(rules({ benefit: { kind: 'percent', percentBp: 5_000 }, target: 'products', targetProducts: ['cake'] }), o),
    3_500,
    'on the target lines only',
  );
  assert.equal(discountOf(rules({ benefit: { kind: 'free_item', productId: 'americano' } }), o), 4_500);
  assert.equal(discountOf(rules({ benefit: { kind: 'free_item', productId: 'americano', maxQuantity: 5 } }), o), 9_000);
  assert.equal(discountOf(rules({ benefit: { kind: 'delivery' } }), o), 3_000);
  assert.equal(discountOf(rules({ benefit: { kind: 'delivery', amount: 1_000 } }), o), 1_000);
  assert.equal(
    discountOf(rules({ amount: 10_000 }), order({ amount: 20_000 })),
    3_000,
    'the given order amount wins over the items',
  );
});

test('validity: fixed dates, or N days counting the day of issue, to its end in the tenant time zone', () => {
  assert.deepEqual(validityOf(rules({}), NOW, 'Asia/Seoul'), { from: NOW, until: new Date('2027-04-01T15:00:00Z') });
  assert.equal(
    validityOf(
      rules({ validity: { kind: 'days', days: 1 } }),
      new Date('2027-03-03T14:59:00Z'),
      'Asia/Seoul',
    ).until.toISOString(),
    '2027-03-03T15:00:00.000Z',
  );
  const fixed = validityOf(
    rules({ validity: { kind: 'fixed', from: '2027-05-01T00:00:00Z', until: '2027-06-01T00:00:00Z' } }),
    NOW,
    'Asia/Seoul',
  );
  assert.deepEqual(
    [fixed.from.toISOString(), fixed.until.toISOString()],
    ['2027-05-01T00:00:00.000Z', '2027-06-01T00:00:00.000Z'],
  );
  assert.deepEqual(localClock(new Date('2027-03-06T15:00:00Z'), 'Asia/Seoul'), { weekday: 0, time: '00:00' });
});
