import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, newMembers, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { enqueueOutbox } from '../../platform/outbox.ts';
import {
  createDefinition,
  holdCoupons,
  issueCoupon,
  memberCoupons,
  registerCouponHandlers,
  ZCouponDefinitionRequest,
} from '../coupons/index.ts';
import { trialBalance } from '../ledger/index.ts';
import { adjustPoints, pointBalance, setPointPolicy, ZPointPolicySettings } from '../points/index.ts';
import { chargeCard, listCards, openCard, setProgramSettings, ZPrepaidSettings } from '../prepaid/index.ts';
import { createStampCard, memberStampCards, ZStampCardRequest } from '../stamps/index.ts';
import { quote } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
  registerCouponHandlers(deps);
});
after(() => app.close());

const pos = (t: TestTenant, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.pos), 'idempotency-key': `k-${++seq}` }, payload });
const DAY = 86_400_000;

/** A brand with a point policy, a member holding point lots of different expiries, a charged prepaid card, coupons and a stamp card. */
async function brand() {
  const t = await newTenant(deps, 'Checkout Brand');
  const tenantId = t.tenant.id;
  const [m] = await newMembers(deps, tenantId, 1);
  const member = m!;
  await addStores(deps, tenantId, ['st1']);
  await setPointPolicy(deps, tenantId, {
    settings: ZPointPolicySettings.parse({ baseRateBp: 100, useUnit: 10, maxUseRatioBp: 5_000 }),
  });
  for (const [i, days] of [40, 90, 200].entries()) {
    await adjustPoints(deps, tenantId, {
      adjustmentId: `lot${i}`,
      memberId: member,
      amount: 1_000 + i * 500,
      reason: 'test lots',
      expiresAt: new Date(Date.now() + days * DAY).toISOString(),
    });
  }
  await setProgramSettings(deps, tenantId, ZPrepaidSettings.parse({ minCharge: 1, chargeUnit: 1 }));
  const card = await openCard(deps, tenantId, member, '카드');
  await chargeCard(deps, tenantId, {
    chargeId: 'c1',
    cardId: card.id,
    amount: 30_000,
    channel: 'app',
    memberId: member,
    payment: { method: 'card', token: 'ok' },
  });
  const define = async (id: string, rules: object, extra: object = {}) => {
    await createDefinition(
      deps,
      tenantId,
      ZCouponDefinitionRequest.parse({
        id,
        name: id,
        perMemberLimit: 5,
        rules: { validity: { kind: 'days', days: 30 }, ...rules },
        ...extra,
      }),
    );
    return (await issueCoupon(deps, tenantId, { definitionId: id, memberId: member, source: 'operator' })).id;
  };
  const coupons = {
    amount1000: await define('amount1000', { benefit: { kind: 'amount', amount: 1_000 } }),
    pct10: await define('pct10', { benefit: { kind: 'percent', percentBp: 1_000, maxDiscount: 3_000 } }),
    exclusive5000: await define('exclusive5000', {
      benefit: { kind: 'amount', amount: 5_000 },
      minOrderAmount: 20_000,
      stacking: 'exclusive',
    }),
    appOnly: await define('appOnly', { benefit: { kind: 'amount', amount: 2_000 }, channels: ['app'] }),
    cakeFree: await define('cakeFree', { benefit: { kind: 'free_item', productId: 'cake' } }),
  };
  await createStampCard(
    deps,
    tenantId,
    ZStampCardRequest.parse({
      name: '스탬프',
      issueFrom: new Date(Date.now() - DAY).toISOString(),
      issueUntil: new Date(Date.now() + 300 * DAY).toISOString(),
      stampsPerBoard: 100,
      reward: { type: 'points', points: 100 },
      policy: { basis: 'per_item' },
    }),
  );
  return { t, tenantId, member, cardId: card.id, coupons };
}

/** Every balance, lot and coupon state of the member: what a commit then a cancel must leave as it was. */
async function snapshot(tenantId: string, member: string) {
  const points = await pointBalance(deps, tenantId, member);
  const coupons = await memberCoupons(deps, tenantId, member, { usableOnly: false });
  const counters = await deps.db
    .selectFrom('coupon_member')
    .select(['definition_id', 'issued', 'used'])
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', member)
    .orderBy('definition_id')
    .execute();
  return {
    points: points.balance,
    lots: points.lots.filter((l) => l.remaining > 0).map((l) => [l.remaining, new Date(l.expiresAt!).toISOString()]),
    prepaid: (await listCards(deps, tenantId, member)).map((c) => [c.id, c.balance]),
    coupons: coupons.map((c) => [c.id, c.status]).sort(),
    counters,
    stamps: (await memberStampCards(deps, tenantId, member)).items.map((s) => [s.card.id, s.stamps]),
  };
}

const basket = (member: string, items: [string, number, number][], extra: object = {}) => ({
  memberId: member,
  channel: 'offline',
  storeId: 'st1',
  items: items.map(([productId, quantity, unitPrice]) => ({ productId, quantity, unitPrice })),
  paymentMethods: ['card'],
  ...extra,
});

test('a quote explains every coupon it cannot apply and picks the best combination; nothing is written', async () => {
  const { t, tenantId, member, coupons } = await brand();
  const before = await snapshot(tenantId, member);
  const res = await pos(
    t,
    '/v1/checkout/quote',
    basket(member, [
      ['latte', 2, 5_000],
      ['cookie', 1, 2_000],
    ]),
  );
  assert.equal(res.statusCode, 200, res.body);
  const q = res.json();
  assert.equal(q.orderAmount, 12_000);
  const why = Object.fromEntries(q.coupons.inapplicable.map((c: { couponId: string; code: string }) => [c.couponId, c.code]));
  assert.deepEqual(why, {
    [coupons.exclusive5000]: 'COUPON_MIN_ORDER',
    [coupons.appOnly]: 'COUPON_WRONG_CHANNEL',
    [coupons.cakeFree]: 'COUPON_NO_EFFECT',
  });
  assert.deepEqual(q.coupons.best, { couponIds: [coupons.pct10, coupons.amount1000], discount: 2_200 });
  assert.equal(q.payable, 9_800);
  // Up to 50% of the payable (4,900), but the member holds 4,500; 1% earned on what is paid.
  assert.deepEqual([q.points.balance, q.points.usable, q.points.earn], [4_500, 4_500, 98]);
  assert.deepEqual(
    q.prepaid.cards.map((c: { balance: number }) => c.balance),
    [30_000],
  );
  assert.deepEqual(
    q.stamps.map((s: { count: number }) => s.count),
    [3],
  );
  // With a bigger basket the exclusive coupon wins.
  const big = (await pos(t, '/v1/checkout/quote', basket(member, [['latte', 5, 5_000]]))).json();
  assert.deepEqual(big.coupons.best, { couponIds: [coupons.exclusive5000], discount: 5_000 });
  assert.deepEqual(await snapshot(tenantId, member), before);
});

test('a quote reads the same number of statements whether the member holds 5 coupons or 17', async () => {
  const { tenantId, member } = await brand();
  let statements = 0;
  const counted = {
    ...deps,
    db: deps.db.withPlugin({
      transformQuery: (a) => {
        statements++;
        return a.node;
      },
      transformResult: async (a) => a.result,
    }),
  };
  const count = async () => {
    statements = 0;
    await quote(counted, tenantId, { ...basket(member, [['latte', 2, 5_000]]), deliveryFee: 0 } as Parameters<typeof quote>[2]);
    return statements;
  };
  const withFive = await count();
  // A member who never had points: the quote creates no wallet for them (it writes nothing).
  const [fresh] = await newMembers(deps, tenantId, 1);
  assert.equal(
    (await quote(deps, tenantId, { ...basket(fresh!, [['latte', 1, 5_000]]), deliveryFee: 0 } as Parameters<typeof quote>[2]))
      .points.balance,
    0,
  );
  assert.equal(
    (
      await deps.db
        .selectFrom('ledger_account')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('owner_id', '=', fresh!)
        .execute()
    ).length,
    0,
  );
  for (let i = 0; i < 12; i++)
    await issueCoupon(deps, tenantId, {
      definitionId: ['amount1000', 'pct10', 'appOnly'][i % 3]!,
      memberId: member,
      source: 'operator',
      sourceRef: `more-${i}`,
    });
  assert.equal(await count(), withFive);
});

test('commit applies everything at once, is idempotent on its id, and refuses as a whole', async () => {
  const { t, tenantId, member, cardId, coupons } = await brand();
  const order = basket(
    member,
    [
      ['latte', 2, 5_000],
      ['cake', 1, 6_000],
    ],
    { checkoutId: 'co-1', couponIds: [coupons.amount1000, coupons.pct10], points: 1_000, prepaid: { cardId, amount: 5_000 } },
  );
  const res = await pos(t, '/v1/checkout/commit', order);
  assert.equal(res.statusCode, 200, res.body);
  const c = res.json();
  // 16,000 − 1,000 − 1,600 (10%) = 13,400; 1,000 points and 5,000 prepaid leave 7,400 to pay; 1% of 12,400 earned.
  assert.deepEqual([c.discount, c.pointsUsed, c.prepaidUsed, c.paidAmount, c.pointsEarned], [2_600, 1_000, 5_000, 7_400, 124]);
  assert.deepEqual(
    c.stamps.map((s: { earned: number }) => s.earned),
    [3],
  );
  const again = await pos(t, '/v1/checkout/commit', order);
  assert.deepEqual(again.json(), c);
  assert.equal((await pos(t, '/v1/checkout/commit', { ...order, points: 500 })).json().code, 'CONFLICT');

  // Refused as a whole: the coupons stay unused when the points are not there.
  const before = await snapshot(tenantId, member);
  const tooMuch = (
    await pos(
      t,
      '/v1/checkout/commit',
      basket(member, [['latte', 20, 5_000]], { checkoutId: 'co-2', couponIds: [coupons.exclusive5000], points: 9_000 }),
    )
  ).json();
  assert.equal(tooMuch.code, 'INSUFFICIENT_POINTS');
  const notTogether = (
    await pos(
      t,
      '/v1/checkout/commit',
      basket(member, [['latte', 4, 5_000]], { checkoutId: 'co-3', couponIds: [coupons.exclusive5000, coupons.cakeFree] }),
    )
  ).json();
  assert.equal(notTogether.code, 'COUPON_NOT_STACKABLE');
  const over = (
    await pos(
      t,
      '/v1/checkout/commit',
      basket(member, [['latte', 1, 5_000]], { checkoutId: 'co-4', prepaid: { cardId, amount: 6_000 } }),
    )
  ).json();
  assert.deepEqual([over.code, over.details.orderAmount], ['CHECKOUT_EXCEEDS_TOTAL', 5_000]);
  assert.deepEqual(await snapshot(tenantId, member), before);
  assert.ok((await trialBalance(deps, tenantId)).every((l) => l.total === 0));
});

test('commit then cancel leaves every balance, lot and coupon exactly as before (property test over random baskets)', async () => {
  const { t, tenantId, member, cardId } = await brand();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(
          fc.constantFrom('latte', 'cake', 'cookie', 'beans'),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 12 }).map((x) => x * 500),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      async (items, pointShare, prepaidShare, useCoupons) => {
        const b = basket(member, items);
        const before = await snapshot(tenantId, member);
        const q = (await pos(t, '/v1/checkout/quote', b)).json();
        const couponIds = useCoupons ? q.coupons.best.couponIds : [];
        const payable = useCoupons ? q.payable : q.orderAmount;
        const usable = Math.min(q.points.usable, Math.floor((payable * 0.5) / 10) * 10);
        const points = Math.floor((usable * pointShare) / 10) * 10;
        const prepaid = Math.floor(Math.min(payable - points, q.prepaid.cards[0].balance) * prepaidShare);
        const id = `prop-${++n}`;
        const committed = await pos(t, '/v1/checkout/commit', {
          ...b,
          checkoutId: id,
          couponIds,
          points,
          ...(prepaid > 0 ? { prepaid: { cardId, amount: prepaid } } : {}),
        });
        assert.equal(committed.statusCode, 200, committed.body);
        assert.equal(committed.json().paidAmount, q.orderAmount - committed.json().discount - points - prepaid);
        const cancelled = await pos(t, `/v1/checkout/${id}/cancel`, { cancelId: `cx-${n}` });
        assert.equal(cancelled.statusCode, 200, cancelled.body);
        assert.deepEqual(await snapshot(tenantId, member), before);
      },
    ),
    { numRuns: 12 },
  );
  assert.ok((await trialBalance(deps, tenantId)).every((l) => l.total === 0));
  assert.equal((await pos(t, '/v1/checkout/prop-1/cancel', { cancelId: 'again' })).json().code, 'OPERATION_NOT_CANCELLABLE');
});

test('a partial cancel by lines gives back their share; the last cancel gives back exactly the rest', async () => {
  const { t, tenantId, member, cardId, coupons } = await brand();
  const before = await snapshot(tenantId, member);
  const order = basket(
    member,
    [
      ['latte', 2, 5_000],
      ['cake', 1, 6_000],
    ],
    { checkoutId: 'part', couponIds: [coupons.amount1000, coupons.pct10], points: 1_000, prepaid: { cardId, amount: 5_000 } },
  );
  assert.equal((await pos(t, '/v1/checkout/commit', order)).statusCode, 200);

  // The cake (6,000 of 16,000): 975 of the 2,600 discount stays with the order; 5,025 comes back
  // as 375 points, 1,875 prepaid and 2,775 to the card, in proportion; 46 of 124 earned points and
  // one stamp (two items are left) are taken back. The coupons stay used.
  const res = await pos(t, '/v1/checkout/part/cancel', { cancelId: 'part-cake', lines: [{ line: 1, quantity: 1 }] });
  assert.equal(res.statusCode, 200, res.body);
  const c = res.json();
  assert.equal(c.status, 'partially_cancelled');
  assert.deepEqual(
    c.items.map((i: { cancelledQuantity: number }) => i.cancelledQuantity),
    [0, 1],
  );
  const { createdAt, stampsTakenBack, ...amounts } = c.cancels[0];
  assert.ok(createdAt);
  assert.deepEqual(amounts, {
    cancelId: 'part-cake',
    lines: [{ line: 1, quantity: 1 }],
    full: false,
    amount: 6_000,
    discount: 975,
    pointsRestored: 375,
    prepaidReturned: 1_875,
    paidRefund: 2_775,
    pointsTakenBack: 46,
    couponsRestored: [],
  });
  assert.deepEqual(
    stampsTakenBack.map((s: { count: number }) => s.count),
    [1],
  );
  const now = await snapshot(tenantId, member);
  assert.equal(now.points, 4_500 - 1_000 + 124 + 375 - 46);
  assert.deepEqual(now.prepaid, [[cardId, 30_000 - 5_000 + 1_875]]);
  assert.deepEqual(
    now.stamps.map((s) => s[1]),
    [2],
  );
  assert.deepEqual(now.coupons.filter((x) => x[1] === 'used').length, 2);

  // The same cancel id answers the same; with other lines it is a conflict; lines are checked.
  assert.deepEqual(
    (await pos(t, '/v1/checkout/part/cancel', { cancelId: 'part-cake', lines: [{ line: 1, quantity: 1 }] })).json(),
    c,
  );
  assert.equal(
    (await pos(t, '/v1/checkout/part/cancel', { cancelId: 'part-cake', lines: [{ line: 0, quantity: 1 }] })).json().code,
    'CONFLICT',
  );
  const over = (await pos(t, '/v1/checkout/part/cancel', { cancelId: 'again', lines: [{ line: 1, quantity: 1 }] })).json();
  assert.deepEqual([over.code, over.details.why, over.details.left], ['OPERATION_NOT_CANCELLABLE', 'exceeds_line', 0]);
  assert.equal(
    (await pos(t, '/v1/checkout/part/cancel', { cancelId: 'again', lines: [{ line: 7, quantity: 1 }] })).json().details.why,
    'no_such_line',
  );
  assert.deepEqual(await snapshot(tenantId, member), now);

  // The rest: everything is as before the commit, coupons included.
  const rest = (await pos(t, '/v1/checkout/part/cancel', { cancelId: 'part-rest' })).json();
  assert.equal(rest.status, 'cancelled');
  assert.deepEqual(
    rest.cancels.map((x: { full: boolean; lines: unknown }) => [x.full, x.lines]),
    [
      [false, [{ line: 1, quantity: 1 }]],
      [true, [{ line: 0, quantity: 2 }]],
    ],
  );
  assert.deepEqual(rest.cancels[1].couponsRestored.sort(), [coupons.amount1000, coupons.pct10].sort());
  assert.deepEqual(await snapshot(tenantId, member), before);
  assert.deepEqual((await app.inject({ method: 'GET', url: '/v1/checkout/part', headers: bearer(t.keys.pos) })).json(), rest);
  assert.ok((await trialBalance(deps, tenantId)).every((l) => l.total === 0));
});

test('five concurrent cancels of one unit on a line of three: exactly three apply, the refunds add up', async () => {
  const { t, tenantId, member, cardId } = await brand();
  const before = await snapshot(tenantId, member);
  const order = basket(member, [['latte', 3, 5_000]], { checkoutId: 'race', points: 1_000, prepaid: { cardId, amount: 4_000 } });
  assert.equal((await pos(t, '/v1/checkout/commit', order)).statusCode, 200);
  const answers = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/v1/checkout/race/cancel',
        headers: bearer(t.keys.pos),
        payload: { cancelId: `race-${i}`, lines: [{ line: 0, quantity: 1 }] },
      }),
    ),
  );
  assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 422, 422]);
  assert.ok(
    answers
      .filter((a) => a.statusCode === 422)
      .every((a) => a.json().details.why === 'exceeds_line' || a.json().details.why === 'cancelled'),
  );
  const done = (await app.inject({ method: 'GET', url: '/v1/checkout/race', headers: bearer(t.keys.pos) })).json();
  assert.equal(done.status, 'cancelled');
  const sum = (k: string) => done.cancels.reduce((s: number, x: Record<string, number>) => s + x[k]!, 0);
  assert.deepEqual([sum('pointsRestored'), sum('prepaidReturned'), sum('paidRefund')], [1_000, 4_000, 10_000]);
  assert.deepEqual(await snapshot(tenantId, member), before);
});

test('cancelled line by line in random steps, every balance, lot and coupon ends exactly as before (property test)', async () => {
  const { t, tenantId, member, cardId } = await brand();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(
          fc.constantFrom('latte', 'cake', 'cookie'),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 12 }).map((x) => x * 500),
        ),
        { minLength: 2, maxLength: 4 },
      ),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 3 }),
      async (items, pointShare, prepaidShare, steps) => {
        const b = basket(member, items);
        const before = await snapshot(tenantId, member);
        const q = (await pos(t, '/v1/checkout/quote', b)).json();
        const points = Math.floor((Math.min(q.points.usable, Math.floor((q.payable * 0.5) / 10) * 10) * pointShare) / 10) * 10;
        const prepaid = Math.floor(Math.min(q.payable - points, q.prepaid.cards[0].balance) * prepaidShare);
        const id = `lines-${++n}`;
        const committed = await pos(t, '/v1/checkout/commit', {
          ...b,
          checkoutId: id,
          couponIds: q.coupons.best.couponIds,
          points,
          ...(prepaid > 0 ? { prepaid: { cardId, amount: prepaid } } : {}),
        });
        assert.equal(committed.statusCode, 200, committed.body);
        const left = items.map(([, quantity]) => quantity);
        for (const [k, [pick, quantity]] of steps.entries()) {
          const line = pick % items.length;
          if (left[line] === 0) continue;
          const take = Math.min(quantity, left[line]!);
          left[line]! -= take;
          const res = await pos(t, `/v1/checkout/${id}/cancel`, { cancelId: `${id}.${k}`, lines: [{ line, quantity: take }] });
          assert.equal(res.statusCode, 200, res.body);
          const last = res.json().cancels.at(-1);
          assert.equal(last.discount + last.pointsRestored + last.prepaidReturned + last.paidRefund, last.amount);
        }
        if (left.some((x) => x > 0))
          assert.equal((await pos(t, `/v1/checkout/${id}/cancel`, { cancelId: `${id}.rest` })).statusCode, 200);
        const done = (await app.inject({ method: 'GET', url: `/v1/checkout/${id}`, headers: bearer(t.keys.pos) })).json();
        assert.equal(done.status, 'cancelled');
        const sum = (k: string) => done.cancels.reduce((s: number, x: Record<string, number>) => s + x[k]!, 0);
        assert.deepEqual(
          [
            sum('amount'),
            sum('discount'),
            sum('pointsRestored'),
            sum('prepaidReturned'),
            sum('paidRefund'),
            sum('pointsTakenBack'),
          ],
          [done.orderAmount, done.discount, done.pointsUsed, done.prepaidUsed, done.paidAmount, done.pointsEarned],
        );
        assert.deepEqual(await snapshot(tenantId, member), before);
      },
    ),
    { numRuns: 10 },
  );
  assert.ok((await trialBalance(deps, tenantId)).every((l) => l.total === 0));
});

test('the same checkout sent 10 times at once applies once; every answer is the same', async () => {
  const { t, tenantId, member, cardId, coupons } = await brand();
  const order = basket(member, [['latte', 3, 5_000]], {
    checkoutId: 'dup',
    couponIds: [coupons.amount1000],
    points: 500,
    prepaid: { cardId, amount: 2_000 },
  });
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      app.inject({ method: 'POST', url: '/v1/checkout/commit', headers: bearer(t.keys.pos), payload: order }),
    ),
  );
  assert.ok(
    answers.every((a) => a.statusCode === 200),
    answers.map((a) => a.body).join('\n'),
  );
  assert.equal(new Set(answers.map((a) => a.body)).size, 1);
  assert.equal((await pointBalance(deps, tenantId, member)).balance, 4_500 - 500 + 135); // 1% of 15,000 − 1,000 − 500
  assert.deepEqual(
    (await listCards(deps, tenantId, member)).map((c) => c.balance),
    [28_000],
  );
});

test('offline replay: in the order the sales happened, each as of its own time, each answered with a code; none dropped', async () => {
  const { t, tenantId, member, coupons } = await brand();
  // A coupon whose validity ended an hour ago: a sale made while it was valid still takes it.
  const now = Date.now();
  await createDefinition(
    deps,
    tenantId,
    ZCouponDefinitionRequest.parse({
      id: 'ended',
      name: 'ended',
      rules: {
        benefit: { kind: 'amount', amount: 700 },
        validity: { kind: 'fixed', from: new Date(now - 3 * DAY).toISOString(), until: new Date(now - 3_600_000).toISOString() },
      },
    }),
  );
  const ended = (await issueCoupon(deps, tenantId, { definitionId: 'ended', memberId: member, source: 'operator' })).id;
  // Online, the amount coupon is used now.
  assert.equal(
    (
      await pos(
        t,
        '/v1/checkout/commit',
        basket(member, [['latte', 1, 5_000]], { checkoutId: 'online-1', couponIds: [coupons.amount1000] }),
      )
    ).statusCode,
    200,
  );

  const at = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000).toISOString();
  const offline = [
    basket(member, [['latte', 2, 5_000]], { checkoutId: 'pos-3', occurredAt: at(1), couponIds: [coupons.amount1000] }),
    basket(member, [['latte', 1, 5_000]], { checkoutId: 'pos-1', occurredAt: at(3), couponIds: [ended] }),
    basket(member, [['cake', 1, 6_000]], { checkoutId: 'pos-2', occurredAt: at(2) }),
    basket(member, [['cake', 1, 6_000]], { checkoutId: 'pos-2', occurredAt: at(2) }),
  ];
  const res = await app.inject({
    method: 'POST',
    url: '/v1/checkout/replay',
    headers: bearer(t.keys.pos),
    payload: { checkouts: offline },
  });
  assert.equal(res.statusCode, 200, res.body);
  const items = res.json().items as {
    checkoutId: string;
    outcome: string;
    rejection?: { code: string };
    checkout?: { discount: number; occurredAt: string };
  }[];
  assert.deepEqual(
    items.map((i) => [i.checkoutId, i.outcome, i.rejection?.code ?? null]),
    [
      ['pos-1', 'committed', null],
      ['pos-2', 'committed', null],
      ['pos-2', 'already_committed', null],
      ['pos-3', 'rejected', 'COUPON_ALREADY_USED'],
    ],
  );
  assert.deepEqual([items[0]!.checkout!.discount, items[0]!.checkout!.occurredAt], [700, at(3)]);
  // Sent again, the whole batch answers the same way and applies nothing more.
  const again = (
    await app.inject({ method: 'POST', url: '/v1/checkout/replay', headers: bearer(t.keys.pos), payload: { checkouts: offline } })
  ).json().items;
  assert.deepEqual(
    again.map((i: { outcome: string }) => i.outcome),
    ['already_committed', 'already_committed', 'already_committed', 'rejected'],
  );
  assert.ok((await trialBalance(deps, tenantId)).every((l) => l.total === 0));
});

test('a coupon held during a long payment: only its checkout can use it; a hold released or timed out frees it', async () => {
  const { t, tenantId, member, coupons } = await brand();
  const held = await pos(t, '/v1/coupons/holds', {
    holdId: 'pay-1',
    memberId: member,
    couponIds: [coupons.amount1000],
    ttlSeconds: 600,
  });
  assert.equal(held.statusCode, 201, held.body);
  const other = (
    await pos(
      t,
      '/v1/checkout/commit',
      basket(member, [['latte', 1, 5_000]], { checkoutId: 'other', couponIds: [coupons.amount1000] }),
    )
  ).json();
  assert.deepEqual([other.code, other.details.couponId], ['COUPON_HELD', coupons.amount1000]);
  assert.equal(
    (await pos(t, '/v1/coupons/holds', { holdId: 'pay-2', memberId: member, couponIds: [coupons.amount1000] })).json().code,
    'COUPON_HELD',
  );
  const quoted = (await pos(t, '/v1/checkout/quote', basket(member, [['latte', 1, 5_000]]))).json();
  assert.equal(
    quoted.coupons.inapplicable.find((c: { couponId: string }) => c.couponId === coupons.amount1000).code,
    'COUPON_HELD',
  );
  const paid = await pos(
    t,
    '/v1/checkout/commit',
    basket(member, [['latte', 1, 5_000]], { checkoutId: 'paid', couponIds: [coupons.amount1000], holdId: 'pay-1' }),
  );
  assert.equal(paid.statusCode, 200, paid.body);
  assert.equal(paid.json().discount, 1_000);

  // Released: free again.
  await pos(t, '/v1/coupons/holds', { holdId: 'pay-3', memberId: member, couponIds: [coupons.cakeFree] });
  assert.equal((await pos(t, '/v1/coupons/holds/pay-3/release', {})).json().released, 1);
  assert.equal(
    (
      await pos(
        t,
        '/v1/checkout/commit',
        basket(member, [['cake', 1, 6_000]], { checkoutId: 'free', couponIds: [coupons.cakeFree] }),
      )
    ).statusCode,
    200,
  );
  // Timed out: a hold taken 20 minutes ago for 10 no longer holds.
  await holdCoupons({ ...deps, clock: fixedClock(new Date(Date.now() - 20 * 60_000)) }, tenantId, {
    holdId: 'old',
    memberId: member,
    couponIds: [coupons.pct10],
    ttlSeconds: 600,
  });
  assert.equal(
    (
      await pos(
        t,
        '/v1/checkout/commit',
        basket(member, [['latte', 2, 5_000]], { checkoutId: 'late', couponIds: [coupons.pct10] }),
      )
    ).statusCode,
    200,
  );
});

test('a first-order coupon comes with a member’s first checkout only, once', async () => {
  const { t, tenantId } = await brand();
  await createDefinition(
    deps,
    tenantId,
    ZCouponDefinitionRequest.parse({
      id: 'first',
      name: '첫 주문 감사',
      autoIssue: 'first_order',
      rules: { benefit: { kind: 'amount', amount: 2_000 }, validity: { kind: 'days', days: 30 } },
    }),
  );
  const [a, b] = await newMembers(deps, tenantId, 2);
  for (const [id, m] of [
    ['a-1', a],
    ['a-2', a],
    ['b-1', b],
  ] as const) {
    assert.equal((await pos(t, '/v1/checkout/commit', basket(m!, [['latte', 1, 5_000]], { checkoutId: id }))).statusCode, 200);
  }
  // The first checkout's event delivered again issues nothing more.
  const again = await deps.db
    .selectFrom('outbox')
    .select(['topic', 'payload'])
    .where('tenant_id', '=', tenantId)
    .where('topic', '=', 'checkout.committed')
    .orderBy('id')
    .execute();
  assert.deepEqual(
    again.map((m) => (m.payload as { firstOrder: boolean }).firstOrder),
    [true, false, true],
  );
  await enqueueOutbox(deps.db, tenantId, { topic: 'checkout.committed', payload: again[0]!.payload as Record<string, unknown> });
  while ((await deps.outbox.runOnce()) > 0);
  for (const m of [a!, b!])
    assert.deepEqual(
      (await memberCoupons(deps, tenantId, m)).map((c) => [c.definitionId, c.source]),
      [['first', 'first_order']],
    );
});
