import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, memberToken, newMembers, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { trialBalance } from '../ledger/index.ts';
import { nextMonthlyDue, type PaymentProvider, registerPrepaidHandlers, runAutoCharge } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `k-${++seq}` });
const pos = (t: TestTenant, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.pos), ...key() }, payload });

async function brand(program: object = {}) {
  const t = await newTenant(deps, 'Prepaid Brand');
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/prepaid/program',
    headers: bearer(t.keys.server),
    payload: { minCharge: 1, chargeUnit: 1, ...program },
  });
  assert.equal(put.statusCode, 200, put.body);
  const members = await newMembers(deps, t.tenant.id, 2);
  await addStores(deps, t.tenant.id, ['st1', 's1', 'gangnam', 'jamsil']);
  const tokens = await Promise.all(members.map((m) => memberToken(deps, t.tenant.id, m)));
  const me = (i: number, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: { ...bearer(t.keys.app), 'x-member-token': tokens[i]!, ...(method === 'GET' ? {} : key()) },
      ...(payload ? { payload } : {}),
    });
  const card = async (i: number) => {
    const res = await me(i, 'POST', '/v1/me/prepaid/cards', { nickname: `card ${i}` });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  return { t, members, me, card };
}

const ok = { method: 'card', token: 'tok_ok' };
const balanceOf = async (me: Awaited<ReturnType<typeof brand>>['me'], i: number, cardId: string) =>
  (await me(i, 'GET', '/v1/me/prepaid/cards')).json().items.find((c: { id: string }) => c.id === cardId).balance as number;

test('100 concurrent uses of 1 against a card holding 37: exactly 37 succeed', async () => {
  const { t, me, card } = await brand();
  const c = await card(0);
  assert.equal(
    (await me(0, 'POST', `/v1/me/prepaid/cards/${c}/charges`, { chargeId: 'ch37', amount: 37, payment: ok })).statusCode,
    200,
  );
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      pos(t, '/v1/prepaid/use', { orderId: `o${i}`, cardId: c, amount: 1, channel: 'offline', storeId: 'st1' }),
    ),
  );
  assert.equal(results.filter((r) => r.statusCode === 200).length, 37);
  assert.ok(results.filter((r) => r.statusCode !== 200).every((r) => r.json().code === 'INSUFFICIENT_PREPAID'));
  assert.equal(await balanceOf(me, 0, c), 0);
  assert.ok((await trialBalance(deps, t.tenant.id)).every((l) => l.total === 0));
});

test('refund: below the 80% rule it is refused with the amount still to use; above it the fee and the remainder post exactly', async () => {
  const { t, me, card } = await brand({ refund: { minUsedBp: 8000, fee: 500 } });
  const c = await card(0);
  await me(0, 'POST', `/v1/me/prepaid/cards/${c}/charges`, { chargeId: 'c1', amount: 10_000, payment: ok });
  await pos(t, '/v1/prepaid/use', { orderId: 'u1', cardId: c, amount: 7_000, channel: 'app' });
  const preview = (await me(0, 'GET', `/v1/me/prepaid/cards/${c}/refund`)).json();
  assert.deepEqual(
    [preview.allowed, preview.requiredUse, preview.amountStillToUse, preview.refundAmount],
    [false, 8_000, 1_000, 2_500],
  );
  const bank = { code: '004', accountNumber: '123-456-789012', holder: '홍길동' };
  const refused = (await me(0, 'POST', `/v1/me/prepaid/cards/${c}/refund`, { refundId: 'r1', bank })).json();
  assert.equal(refused.code, 'REFUND_NOT_ALLOWED');
  assert.equal(refused.details.amountStillToUse, 1_000);

  await pos(t, '/v1/prepaid/use', { orderId: 'u2', cardId: c, amount: 1_000, channel: 'app' });
  const before = (await app.inject({ url: '/v1/prepaid/liability', headers: bearer(t.keys.server) })).json().outstanding;
  assert.equal(before, 2_000);
  const done = await me(0, 'POST', `/v1/me/prepaid/cards/${c}/refund`, { refundId: 'r2', bank });
  assert.equal(done.statusCode, 200, done.body);
  assert.deepEqual([done.json().amount, done.json().fee, done.json().refund.refundAmount], [-2_000, 500, 1_500]);
  assert.equal(await balanceOf(me, 0, c), 0);
  assert.equal((await app.inject({ url: '/v1/prepaid/liability', headers: bearer(t.keys.server) })).json().outstanding, 0);
  const entries = (
    await app.inject({
      url: `/v1/ledger/accounts/${(await me(0, 'GET', '/v1/me/prepaid/cards')).json().items[0].accountId}/entries`,
      headers: bearer(t.keys.server),
    })
  ).json().items;
  assert.deepEqual(
    entries
      .filter((e: { code: string }) => e.code === 'REFUND')
      .map((e: { amount: number }) => e.amount)
      .sort(),
    [-1_500, -500],
  );
  // The bank account is sealed at rest.
  const stored = await deps.db
    .selectFrom('prepaid_operation')
    .select('bank_sealed')
    .where('tenant_id', '=', t.tenant.id)
    .where('kind', '=', 'refund')
    .executeTakeFirstOrThrow();
  assert.ok(stored.bank_sealed && !stored.bank_sealed.includes('123-456'));
});

test('a charge is cancelled only in its channel and store; a declined payment writes nothing', async () => {
  const { t, me, card } = await brand();
  const c = await card(0);
  const charged = await pos(t, '/v1/prepaid/charges', {
    chargeId: 's1',
    cardId: c,
    amount: 5_000,
    channel: 'offline',
    storeId: 'gangnam',
    payment: { method: 'cash', token: 'pos' },
  });
  assert.equal(charged.statusCode, 200, charged.body);
  const elsewhere = (
    await pos(t, '/v1/prepaid/charges/cancel', { cancelId: 'x1', chargeId: 's1', channel: 'offline', storeId: 'jamsil' })
  ).json();
  assert.equal(elsewhere.code, 'CHARGE_CANCEL_WRONG_CHANNEL');
  assert.deepEqual([elsewhere.details.chargeStoreId, elsewhere.details.storeId], ['gangnam', 'jamsil']);
  assert.equal(
    (await me(0, 'POST', '/v1/me/prepaid/charges/cancel', { cancelId: 'x2', chargeId: 's1' })).json().code,
    'CHARGE_CANCEL_WRONG_CHANNEL',
  );
  const there = await pos(t, '/v1/prepaid/charges/cancel', {
    cancelId: 'x3',
    chargeId: 's1',
    channel: 'offline',
    storeId: 'gangnam',
  });
  assert.equal(there.statusCode, 200, there.body);
  assert.equal(there.json().balance, 0);
  assert.equal(
    (
      await pos(t, '/v1/prepaid/charges/cancel', { cancelId: 'x4', chargeId: 's1', channel: 'offline', storeId: 'gangnam' })
    ).json().code,
    'OPERATION_NOT_CANCELLABLE',
  );

  // An app charge partly spent cannot be cancelled; the app can cancel its own unspent charge.
  await me(0, 'POST', `/v1/me/prepaid/cards/${c}/charges`, { chargeId: 'a1', amount: 3_000, payment: ok });
  await me(0, 'POST', `/v1/me/prepaid/cards/${c}/charges`, { chargeId: 'a2', amount: 1_000, payment: ok });
  await pos(t, '/v1/prepaid/use', { orderId: 'u1', cardId: c, amount: 3_500, channel: 'app' });
  const spent = (await me(0, 'POST', '/v1/me/prepaid/charges/cancel', { cancelId: 'x5', chargeId: 'a1' })).json();
  assert.deepEqual([spent.code, spent.details.why], ['INSUFFICIENT_PREPAID', 'charge_already_used']);
  const declined = (
    await me(0, 'POST', `/v1/me/prepaid/cards/${c}/charges`, {
      chargeId: 'd1',
      amount: 1_000,
      payment: { method: 'card', token: 'decline-LIMIT' },
    })
  ).json();
  assert.deepEqual([declined.code, declined.details.reason], ['PAYMENT_DECLINED', 'LIMIT']);
  assert.equal(
    (
      await deps.db
        .selectFrom('prepaid_operation')
        .select('id')
        .where('tenant_id', '=', t.tenant.id)
        .where('id', '=', 'pp.charge.d1')
        .execute()
    ).length,
    0,
  );
  assert.equal(await balanceOf(me, 0, c), 500);
});

test('limits, gifts, transfers, main card and physical cards', async () => {
  const { t, members, me, card } = await brand({ minCharge: 1_000, chargeUnit: 1_000, maxBalance: 50_000 });
  const [c1, c2] = [await card(0), await card(0)];
  const limit = (
    await me(0, 'POST', `/v1/me/prepaid/cards/${c1}/charges`, { chargeId: 'l1', amount: 1_500, payment: ok })
  ).json();
  assert.equal(limit.code, 'PREPAID_LIMIT_EXCEEDED');
  assert.equal(
    (await me(0, 'POST', `/v1/me/prepaid/cards/${c1}/charges`, { chargeId: 'l2', amount: 51_000, payment: ok })).json().code,
    'PREPAID_LIMIT_EXCEEDED',
  );
  await me(0, 'POST', `/v1/me/prepaid/cards/${c1}/charges`, { chargeId: 'g1', amount: 20_000, payment: ok });
  assert.equal(
    (await me(0, 'POST', '/v1/me/prepaid/transfers', { transferId: 't1', fromCardId: c1, toCardId: c2, amount: 5_000 })).json()
      .balance,
    15_000,
  );
  const g = await me(0, 'POST', `/v1/me/prepaid/cards/${c1}/gift`, { giftId: 'gf1', toMemberId: members[1], amount: 4_000 });
  assert.equal(g.statusCode, 200, g.body);
  const theirs = (await me(1, 'GET', '/v1/me/prepaid/cards')).json().items;
  assert.deepEqual(
    theirs.map((c: { balance: number; main: boolean }) => [c.balance, c.main]),
    [[4_000, true]],
  );
  // The whole second card is given: it arrives with its balance, not as the recipient's main card.
  assert.equal(
    (await me(0, 'POST', `/v1/me/prepaid/cards/${c2}/gift`, { giftId: 'gf2', toMemberId: members[1] })).statusCode,
    200,
  );
  assert.deepEqual(
    (await me(1, 'GET', '/v1/me/prepaid/cards'))
      .json()
      .items.map((c: { balance: number; main: boolean }) => [c.balance, c.main])
      .sort(),
    [
      [4_000, true],
      [5_000, false],
    ],
  );
  const lost = await me(0, 'PATCH', `/v1/me/prepaid/cards/${c1}`, { status: 'lost' });
  assert.equal(lost.json().status, 'lost');
  assert.equal(
    (await pos(t, '/v1/prepaid/use', { orderId: 'lost1', cardId: c1, amount: 1, channel: 'offline' })).json().code,
    'CARD_NOT_ACTIVE',
  );

  const stock = await app.inject({
    method: 'POST',
    url: '/v1/prepaid/physical-cards',
    headers: { ...bearer(t.keys.server), ...key() },
    payload: { number: '9410123412341234', pin: '4321' },
  });
  assert.equal(stock.statusCode, 201, stock.body);
  assert.equal(
    (await me(0, 'POST', '/v1/me/prepaid/cards/register', { number: '9410123412341234', pin: '0000' })).json().code,
    'CARD_PIN_INVALID',
  );
  const reg = await me(0, 'POST', '/v1/me/prepaid/cards/register', { number: '9410123412341234', pin: '4321', nickname: '실물' });
  assert.equal(reg.statusCode, 201, reg.body);
  assert.deepEqual([reg.json().physical, reg.json().numberLast4, reg.json().main], [true, '1234', false]);
  assert.equal(
    (await me(1, 'POST', '/v1/me/prepaid/cards/register', { number: '9410123412341234', pin: '4321' })).json().code,
    'CARD_PIN_INVALID',
  );
  assert.equal((await me(0, 'PATCH', `/v1/me/prepaid/cards/${reg.json().id}`, { main: true })).json().main, true);
  assert.equal((await me(0, 'GET', '/v1/me/prepaid/cards')).json().items.filter((c: { main: boolean }) => c.main).length, 1);
  assert.ok((await trialBalance(deps, t.tenant.id)).every((l) => l.total === 0));
});

const outboxTopics = async (tenantId: string) =>
  (await deps.db.selectFrom('outbox').select('topic').where('tenant_id', '=', tenantId).execute()).map((r) => r.topic);

test('auto-charge below a threshold: due in the payment that crossed it, charged exactly once', async () => {
  const { t, me, card } = await brand();
  const c = await card(0);
  await me(0, 'POST', `/v1/me/prepaid/cards/${c}/charges`, { chargeId: 'a0', amount: 6_000, payment: ok });
  const set = await me(0, 'PUT', `/v1/me/prepaid/cards/${c}/auto-charge`, {
    kind: 'threshold',
    threshold: 5_000,
    amount: 10_000,
    payment: { method: 'card', token: 'billing-key-7788' },
  });
  assert.equal(set.statusCode, 200, set.body);
  assert.deepEqual([set.json().enabled, set.json().nextAttemptAt, set.json().tokenLast4], [true, null, '7788']);
  const stored = await deps.db
    .selectFrom('prepaid_auto_charge')
    .select('token_sealed')
    .where('tenant_id', '=', t.tenant.id)
    .executeTakeFirstOrThrow();
  assert.ok(!stored.token_sealed.includes('billing-key'));

  await pos(t, '/v1/prepaid/use', { orderId: 'u1', cardId: c, amount: 500, channel: 'app' });
  assert.equal(await runAutoCharge(deps, t.tenant.id, c), 'not_due'); // 5,500 is not below 5,000
  await pos(t, '/v1/prepaid/use', { orderId: 'u2', cardId: c, amount: 1_500, channel: 'app' });
  assert.equal((await outboxTopics(t.tenant.id)).filter((x) => x === 'prepaid.auto_charge_due').length, 1);
  // The outbox handler and the job may both run it: one charge.
  const outcomes = await Promise.all([runAutoCharge(deps, t.tenant.id, c), runAutoCharge(deps, t.tenant.id, c)]);
  assert.deepEqual(outcomes.sort(), ['charged', 'not_due']);
  assert.equal(await runAutoCharge(deps, t.tenant.id, c), 'not_due');
  assert.equal(await balanceOf(me, 0, c), 14_000);
  const after = (await me(0, 'GET', `/v1/me/prepaid/cards/${c}/auto-charge`)).json();
  assert.deepEqual(
    after.attempts.map((a: { outcome: string; chargeId: string }) => [a.outcome, a.chargeId]),
    [['charged', `auto.${c}.1`]],
  );
  assert.equal(after.nextAttemptAt, null);
  // The auto charge is an ordinary app charge: in the card's history and cancellable in the app.
  assert.equal(
    (await me(0, 'POST', '/v1/me/prepaid/charges/cancel', { cancelId: 'ac1', chargeId: `auto.${c}.1` })).statusCode,
    200,
  );

  // Turned off by the member, and by a refund.
  assert.equal((await me(0, 'DELETE', `/v1/me/prepaid/cards/${c}/auto-charge`)).json().disabledReason, 'member');
  await pos(t, '/v1/prepaid/use', { orderId: 'u3', cardId: c, amount: 3_000, channel: 'app' });
  assert.equal(await runAutoCharge(deps, t.tenant.id, c), 'not_due');
  assert.equal(await balanceOf(me, 0, c), 1_000);
});

test('auto-charge failures are retried after the program’s waits, then turned off with a notice', async () => {
  const { t, me, card } = await brand({ autoCharge: { maxFailures: 3, retryMinutes: [10, 60] } });
  const c = await card(0);
  const set = await me(0, 'PUT', `/v1/me/prepaid/cards/${c}/auto-charge`, {
    kind: 'threshold',
    threshold: 1_000,
    amount: 10_000,
    payment: { method: 'card', token: 'decline-EXPIRED' },
  });
  assert.ok(set.json().nextAttemptAt, 'an empty card is below the threshold at once');
  const clock = fixedClock(new Date(Date.now() + 1_000));
  const d = { ...deps, clock };
  assert.equal(await runAutoCharge(d, t.tenant.id, c), 'failed');
  let state = (await me(0, 'GET', `/v1/me/prepaid/cards/${c}/auto-charge`)).json();
  assert.deepEqual(
    [state.failures, state.nextAttemptAt, state.lastError],
    [1, new Date(clock.now().getTime() + 600_000).toISOString(), 'PAYMENT_DECLINED: The payment was declined: EXPIRED.'],
  );
  assert.equal(await runAutoCharge(d, t.tenant.id, c), 'not_due');
  clock.advance(600_000);
  assert.equal(await runAutoCharge(d, t.tenant.id, c), 'failed');
  clock.advance(3_600_000);
  assert.equal(await runAutoCharge(d, t.tenant.id, c), 'disabled');
  state = (await me(0, 'GET', `/v1/me/prepaid/cards/${c}/auto-charge`)).json();
  assert.deepEqual([state.enabled, state.disabledReason, state.nextAttemptAt], [false, 'failures', null]);
  assert.deepEqual(
    state.attempts.map((a: { outcome: string; chargeId: string }) => [a.outcome, a.chargeId]),
    [
      ['disabled', `auto.${c}.1`],
      ['failed', `auto.${c}.1`],
      ['failed', `auto.${c}.1`],
    ],
  );
  const topics = await outboxTopics(t.tenant.id);
  assert.deepEqual(
    [
      topics.filter((x) => x === 'prepaid.auto_charge_failed').length,
      topics.filter((x) => x === 'prepaid.auto_charge_disabled').length,
    ],
    [2, 1],
  );
  assert.equal(await balanceOf(me, 0, c), 0);

  // Turning it on again with a good token starts the count over.
  const again = await me(0, 'PUT', `/v1/me/prepaid/cards/${c}/auto-charge`, {
    kind: 'threshold',
    threshold: 1_000,
    amount: 10_000,
    payment: ok,
  });
  assert.deepEqual([again.json().enabled, again.json().failures], [true, 0]);
  assert.equal(await runAutoCharge(d, t.tenant.id, c), 'charged');
  assert.equal(await balanceOf(me, 0, c), 10_000);
});

test('monthly auto-charge on the 31st: the last day of shorter months, in the tenant time zone', async () => {
  const seoul = 'Asia/Seoul';
  assert.equal(nextMonthlyDue(new Date('2027-01-31T15:00:00Z'), 31, seoul).toISOString(), '2027-02-27T15:00:00.000Z'); // 1 Feb in Seoul → 28 Feb
  assert.equal(nextMonthlyDue(new Date('2027-01-30T14:59:59Z'), 31, seoul).toISOString(), '2027-01-30T15:00:00.000Z');
  assert.equal(nextMonthlyDue(new Date('2028-02-10T00:00:00Z'), 30, seoul).toISOString(), '2028-02-28T15:00:00.000Z'); // 29 Feb 2028
  assert.equal(nextMonthlyDue(new Date('2027-12-15T00:00:00Z'), 1, seoul).toISOString(), '2027-12-31T15:00:00.000Z');

  const { t, me, card } = await brand();
  const c = await card(0);
  const set = (
    await me(0, 'PUT', `/v1/me/prepaid/cards/${c}/auto-charge`, { kind: 'monthly', dayOfMonth: 25, amount: 30_000, payment: ok })
  ).json();
  const due = new Date(set.nextAttemptAt);
  assert.ok(due > new Date() && due.getTime() - Date.now() <= 32 * 86_400_000);
  const clock = fixedClock(due);
  assert.equal(await runAutoCharge({ ...deps, clock }, t.tenant.id, c), 'charged');
  assert.equal(await runAutoCharge({ ...deps, clock }, t.tenant.id, c), 'not_due');
  const next = (await me(0, 'GET', `/v1/me/prepaid/cards/${c}/auto-charge`)).json().nextAttemptAt;
  assert.equal(next, nextMonthlyDue(due, 25, 'Asia/Seoul').toISOString());
  assert.equal(await balanceOf(me, 0, c), 30_000);
});

test('charge promotions: points for charging at least X, at most N times per member even on concurrent charges, taken back on cancel', async () => {
  const { t, members, me, card } = await brand();
  const server = (url: string, payload: object) =>
    app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.server), ...key() }, payload });
  const promo = await server('/v1/prepaid/promotions', {
    id: 'p30k',
    name: '3만원 충전 시 1,000P',
    minCharge: 30_000,
    rewardPoints: 1_000,
    perMemberLimit: 2,
    channels: ['app'],
  });
  assert.equal(promo.statusCode, 201, promo.body);
  assert.equal((await server('/v1/prepaid/promotions', { name: 'no reward', minCharge: 1 })).json().code, 'VALIDATION_FAILED');
  await server('/v1/prepaid/promotions', {
    id: 'coupon50k',
    name: '5만원 충전 시 쿠폰',
    minCharge: 50_000,
    rewardCouponId: 'cpn-americano',
    perMemberLimit: 1,
  });

  const [c1, c2] = [await card(0), await card(0)];
  const points = async () => (await me(0, 'GET', '/v1/me/points')).json().balance as number;
  const small = (
    await me(0, 'POST', `/v1/me/prepaid/cards/${c1}/charges`, { chargeId: 'small', amount: 29_000, payment: ok })
  ).json();
  assert.deepEqual(small.promotions, []);
  // Three charges at once on two cards: the limit of 2 holds.
  const charges = await Promise.all(
    ['x1', 'x2', 'x3'].map((id, i) =>
      me(0, 'POST', `/v1/me/prepaid/cards/${i % 2 ? c2 : c1}/charges`, { chargeId: id, amount: 30_000, payment: ok }),
    ),
  );
  assert.ok(charges.every((r) => r.statusCode === 200));
  assert.equal(charges.filter((r) => r.json().promotions.length === 1).length, 2);
  assert.equal(await points(), 2_000);
  // Not at a store (channels: app only); the coupon promotion is an event for the coupon module.
  const store = (
    await pos(t, '/v1/prepaid/charges', {
      chargeId: 'st',
      cardId: c1,
      amount: 50_000,
      channel: 'offline',
      storeId: 's1',
      payment: ok,
    })
  ).json();
  assert.deepEqual(
    store.promotions.map((p: { promotionId: string; couponDefinitionId: string }) => [p.promotionId, p.couponDefinitionId]),
    [['coupon50k', 'cpn-americano']],
  );
  assert.ok((await outboxTopics(t.tenant.id)).includes('coupons.issue_requested'));
  const mine = (await me(0, 'GET', '/v1/me/prepaid/promotions')).json().items;
  assert.deepEqual(
    mine.map((p: { id: string; remaining: number }) => [p.id, p.remaining]),
    [
      ['p30k', 0],
      ['coupon50k', 0],
    ],
  );

  // Cancelling a rewarded charge takes its points back and gives the member the use back.
  const rewarded = charges.find((r) => r.json().promotions.length === 1)!.json();
  const cancelled = await me(0, 'POST', '/v1/me/prepaid/charges/cancel', {
    cancelId: 'cx',
    chargeId: rewarded.id.slice('pp.charge.'.length),
  });
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.equal(await points(), 1_000);
  assert.equal((await me(0, 'GET', '/v1/me/prepaid/promotions')).json().items[0].remaining, 1);
  const again = (
    await me(0, 'POST', `/v1/me/prepaid/cards/${c2}/charges`, { chargeId: 'x4', amount: 30_000, payment: ok })
  ).json();
  assert.equal(again.promotions.length, 1);

  // Once the points are spent, the charge that earned them cannot be cancelled.
  const used = await pos(t, '/v1/points/use', { memberId: members[0], orderId: 'spend', amount: 2_000, channel: 'app' });
  assert.equal(used.statusCode, 200, used.body);
  const refused = (await me(0, 'POST', '/v1/me/prepaid/charges/cancel', { cancelId: 'cy', chargeId: 'x4' })).json();
  assert.deepEqual([refused.code, refused.details.why], ['INSUFFICIENT_POINTS', 'promotion_points_used']);
  assert.ok((await trialBalance(deps, t.tenant.id)).every((l) => l.total === 0));
});

test('the payment provider comes from deps: its answer decides the charge, and a cancel refunds through it', async () => {
  const calls: string[] = [];
  const declining: PaymentProvider = {
    name: 'portone',
    async approve(r) {
      calls.push(`approve ${r.paymentId} ${r.amount} ${r.currency} ${r.token.kind}:${r.token.value}`);
      return r.token.value === 'paid_1'
        ? { approved: true, paymentId: 'pg_paid_1', paidAt: new Date() }
        : { approved: false, reason: 'PAYMENT_NOT_PAID' };
    },
    async cancel(r) {
      calls.push(`cancel ${r.paymentId} ${r.amount} ${r.cancellationId}`);
    },
  };
  const real = await testApp({ providers: { ...deps.providers, payment: declining } });
  try {
    const t = await newTenant(real.deps, 'Real Payments Brand');
    await real.app.inject({
      method: 'PUT',
      url: '/v1/prepaid/program',
      headers: bearer(t.keys.server),
      payload: { minCharge: 1, chargeUnit: 1 },
    });
    const [m] = await newMembers(real.deps, t.tenant.id, 1);
    const headers = { ...bearer(t.keys.app), 'x-member-token': await memberToken(real.deps, t.tenant.id, m!) };
    const c = (
      await real.app.inject({
        method: 'POST',
        url: '/v1/me/prepaid/cards',
        headers: { ...headers, ...key() },
        payload: { nickname: 'x' },
      })
    ).json().id;
    // A token the sandbox would approve is declined by the configured provider, and nothing is written.
    const free = await real.app.inject({
      method: 'POST',
      url: `/v1/me/prepaid/cards/${c}/charges`,
      headers: { ...headers, ...key() },
      payload: { chargeId: 'free', amount: 1_000, payment: ok },
    });
    assert.deepEqual(
      [free.statusCode, free.json().code, free.json().details.reason],
      [422, 'PAYMENT_DECLINED', 'PAYMENT_NOT_PAID'],
    );
    assert.equal(
      await real.deps.db.selectFrom('prepaid_operation').select('id').where('tenant_id', '=', t.tenant.id).executeTakeFirst(),
      undefined,
    );

    const paid = await real.app.inject({
      method: 'POST',
      url: `/v1/me/prepaid/cards/${c}/charges`,
      headers: { ...headers, ...key() },
      payload: { chargeId: 'p1', amount: 1_000, payment: { method: 'card', token: 'paid_1' } },
    });
    assert.equal(paid.statusCode, 200, paid.body);
    const cancel = await real.app.inject({
      method: 'POST',
      url: '/v1/me/prepaid/charges/cancel',
      headers: { ...headers, ...key() },
      payload: { cancelId: 'x1', chargeId: 'p1' },
    });
    assert.equal(cancel.statusCode, 200, cancel.body);
    registerPrepaidHandlers(real.deps);
    await real.deps.outbox.runOnce();
    assert.deepEqual(
      calls.filter((c) => /pp\.charge\.(free|p1)|pg_paid_1/.test(c)),
      [
        'approve pp.charge.free 1000 KRW payment:tok_ok',
        'approve pp.charge.p1 1000 KRW payment:paid_1',
        'cancel pg_paid_1 1000 pp.charge-cancel.x1',
      ],
    );
  } finally {
    await real.app.close();
  }
});
