import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, newMembers, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { accountLots, trialBalance } from '../ledger/index.ts';
import { adjustPoints, pointWallet, sendExpiryNotices } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const call = (t: TestTenant, url: string, payload: object, key = `k-${++seq}`) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.server), 'idempotency-key': key }, payload });

async function brand(settings: object = {}) {
  const t = await newTenant(deps, 'Points Brand');
  const res = await call(t, '/v1/points/policy', { settings: { baseRateBp: 500, gradeRates: false, ...settings } });
  assert.equal(res.statusCode, 201, res.body);
  const [m] = await newMembers(deps, t.tenant.id, 1);
  await addStores(deps, t.tenant.id, ['st1']);
  return { t, m: m! };
}

const day = 86_400_000;
const lotsOf = async (t: TestTenant, m: string) =>
  (await accountLots(deps, t.tenant.id, (await pointWallet(deps, t.tenant.id, m)).id, true)).map((l) => [
    l.amount,
    l.remaining,
    l.expiresAt,
  ]);

test('earn at the policy rate with its expiry; one earning per order; the books balance', async () => {
  const { t, m } = await brand({ rounding: 'floor', validity: { months: 12, roundTo: 'end_of_month' } });
  const earn = await call(t, '/v1/points/earn', {
    memberId: m,
    orderId: 'o-1',
    paidAmount: 12_345,
    channel: 'offline',
    storeId: 'st1',
  });
  assert.equal(earn.statusCode, 200, earn.body);
  const op = earn.json();
  assert.equal(op.amount, 617);
  assert.equal(op.balance, 617);
  assert.equal(op.policyVersion, 1);
  assert.ok(new Date(op.expiresAt).getTime() > Date.now() + 330 * day);
  // The same key replays; another key for the same order is refused with the operation's id.
  assert.equal(
    (
      await call(
        t,
        '/v1/points/earn',
        { memberId: m, orderId: 'o-1', paidAmount: 12_345, channel: 'offline', storeId: 'st1' },
        'again',
      )
    ).json().code,
    'ORDER_ALREADY_PROCESSED',
  );
  const balance = (await app.inject({ url: `/v1/members/${m}/points`, headers: bearer(t.keys.pos) })).json();
  assert.equal(balance.balance, 617);
  assert.ok((await trialBalance(deps, t.tenant.id)).every((l) => l.total === 0));
});

test('every use rule is named: unit, minimum balance, maximum share, channel, balance', async () => {
  const { t, m } = await brand({ useUnit: 10, minBalanceToUse: 1000, maxUseRatioBp: 5000, useChannels: ['app', 'offline'] });
  const use = (amount: number, extra: object = {}) =>
    call(t, '/v1/points/use', { memberId: m, orderId: `u-${++seq}`, amount, orderAmount: 10_000, channel: 'app', ...extra });
  await adjustPoints(deps, t.tenant.id, { adjustmentId: 'a1', memberId: m, amount: 900, reason: 'welcome' });
  assert.equal((await use(100)).json().code, 'BELOW_MINIMUM_USE');
  await adjustPoints(deps, t.tenant.id, { adjustmentId: 'a2', memberId: m, amount: 8000, reason: 'apology' });
  assert.equal((await use(105)).json().code, 'POINTS_USE_UNIT');
  const tooMuch = (await use(6000)).json();
  assert.equal(tooMuch.code, 'POINTS_MAX_USE_EXCEEDED');
  assert.equal(tooMuch.details.maximum, 5000);
  assert.equal((await use(100, { channel: 'web' })).json().code, 'POINTS_CHANNEL_NOT_ALLOWED');
  assert.equal((await use(5000, { orderAmount: 100_000, amount: 9000 })).json().code, 'INSUFFICIENT_POINTS');
  const ok = await use(5000);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().balance, 3900);
});

test('a partial cancel of a use restores the same lots, latest-expiring first, with their own expiries', async () => {
  const { t, m } = await brand();
  const expiries = [10, 20, 30].map((days) => new Date(Date.now() + days * day).toISOString());
  for (const [i, expiresAt] of expiries.entries()) {
    await adjustPoints(deps, t.tenant.id, { adjustmentId: `lot${i}`, memberId: m, amount: 100, reason: `lot ${i}`, expiresAt });
  }
  const used = await call(t, '/v1/points/use', { memberId: m, orderId: 'big', amount: 250, channel: 'app' });
  assert.equal(used.statusCode, 200, used.body);
  assert.deepEqual(
    (await lotsOf(t, m)).map(([a, r]) => [a, r]),
    [
      [100, 0],
      [100, 0],
      [100, 50],
    ],
  );

  // Cancel 120 of the 250: the 50 drawn from lot C come back first, then 70 of lot B; lot A stays used.
  const c1 = await call(t, '/v1/points/cancel', { cancelId: 'r1', operationId: 'pt.use.big', amount: 120 });
  assert.equal(c1.statusCode, 200, c1.body);
  assert.equal(c1.json().amount, 120);
  const lots = await lotsOf(t, m);
  assert.deepEqual(
    lots.map(([a, r]) => [a, r]),
    [
      [100, 0],
      [100, 70],
      [100, 100],
    ],
  );
  assert.deepEqual(
    lots.map((l) => l[2]),
    expiries,
  );

  // The cancel id is the cancel's own: used again (for this or another operation) it is refused, naming the first.
  const reused = await call(t, '/v1/points/cancel', { cancelId: 'r1', operationId: 'pt.use.big', amount: 1 });
  assert.equal(`${reused.statusCode} ${reused.json().code}`, '409 CANCEL_ID_USED');
  assert.deepEqual(reused.json().details, { operationId: 'pt.cancel.r1', originalId: 'pt.use.big' });

  // The rest: 130 left; asking 131 names what is left; then cancel all that is left.
  const over = (await call(t, '/v1/points/cancel', { cancelId: 'r2', operationId: 'pt.use.big', amount: 131 })).json();
  assert.equal(over.code, 'OPERATION_NOT_CANCELLABLE');
  assert.equal(over.details.left, 130);
  const rest = await call(t, '/v1/points/cancel', { cancelId: 'r3', operationId: 'pt.use.big' });
  assert.equal(rest.json().amount, 130);
  assert.deepEqual(
    (await lotsOf(t, m)).map(([a, r]) => [a, r]),
    [
      [100, 100],
      [100, 100],
      [100, 100],
    ],
  );
  assert.equal(
    (await call(t, '/v1/points/cancel', { cancelId: 'r4', operationId: 'pt.use.big' })).json().code,
    'OPERATION_NOT_CANCELLABLE',
  );
});

test('cancelling an earning whose points were used is refused and says why; concurrent uses never overdraw', async () => {
  const { t, m } = await brand({ baseRateBp: 1000 });
  await call(t, '/v1/points/earn', { memberId: m, orderId: 'e1', paidAmount: 10_000, channel: 'app' }); // 1,000 points
  const uses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      call(t, '/v1/points/use', { memberId: m, orderId: `c${i}`, amount: 70, channel: 'app' }),
    ),
  );
  assert.equal(uses.filter((r) => r.statusCode === 200).length, 14); // 14 × 70 = 980
  assert.ok(uses.filter((r) => r.statusCode !== 200).every((r) => r.json().code === 'INSUFFICIENT_POINTS'));
  const refused = (await call(t, '/v1/points/cancel', { cancelId: 'x', operationId: 'pt.earn.e1' })).json();
  assert.equal(refused.code, 'INSUFFICIENT_POINTS');
  assert.equal(refused.details.why, 'earned_points_used');
  const ops = (await app.inject({ url: `/v1/members/${m}/points/operations?limit=100`, headers: bearer(t.keys.server) })).json();
  assert.equal(ops.items.length, 15);
});

test('a policy version applies from its time on; earlier earnings keep theirs', async () => {
  const { t, m } = await brand({ baseRateBp: 100 });
  const later = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal(
    (await call(t, '/v1/points/policy', { effectiveFrom: later, settings: { baseRateBp: 300, gradeRates: false } })).statusCode,
    201,
  );
  assert.equal(
    (await call(t, '/v1/points/policy', { effectiveFrom: '2020-01-01T00:00:00Z', settings: {} })).json().code,
    'VALIDATION_FAILED',
  );
  const e = (await call(t, '/v1/points/earn', { memberId: m, orderId: 'p1', paidAmount: 10_000, channel: 'app' })).json();
  assert.deepEqual([e.amount, e.policyVersion], [100, 1]);
  const policy = (await app.inject({ url: '/v1/points/policy', headers: bearer(t.keys.server) })).json();
  assert.deepEqual([policy.current.version, policy.versions.length], [1, 2]);
});

test('expiry notices: one points.expiring event per member and first expiry', async () => {
  const { t, m } = await brand();
  await adjustPoints(deps, t.tenant.id, {
    adjustmentId: 'soon',
    memberId: m,
    amount: 40,
    reason: 'soon',
    expiresAt: new Date(Date.now() + 5 * day).toISOString(),
  });
  assert.equal(await sendExpiryNotices(deps, { tenantId: t.tenant.id }), 1);
  assert.equal(await sendExpiryNotices(deps, { tenantId: t.tenant.id }), 0);
  const events = await deps.db
    .selectFrom('outbox')
    .select('payload')
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'points.expiring')
    .execute();
  assert.equal(events.length, 1);
});

test('the member sees their own points; bad input writes nothing', async () => {
  const { t, m } = await brand();
  const bad = await call(t, '/v1/points/earn', { memberId: m, orderId: 'bad id!', paidAmount: -1, channel: 'app' });
  assert.equal(bad.statusCode, 400);
  assert.equal(
    (await deps.db.selectFrom('point_operation').select('id').where('tenant_id', '=', t.tenant.id).execute()).length,
    0,
  );
  assert.equal(
    (await call(t, '/v1/points/adjustments', { adjustmentId: 'n', memberId: m, amount: 10, reason: ' ' })).statusCode,
    400,
  );
  assert.equal((await app.inject({ url: '/v1/me/points', headers: bearer(t.keys.app) })).json().code, 'UNAUTHENTICATED');
});
