import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { addStores, bearer, memberToken, newMembers, newTenant, testApp } from '../../../test/helpers.ts';
import { noTransactionOpen } from '../../../test/tx-probe.ts';
import { fixedClock } from '../../platform/clock.ts';
import { asOwner, asSystem, withoutTenant, withTenant } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { trialBalance } from '../ledger/index.ts';
import { type PaymentApproval, type PaymentProvider, payForCharge, runAutoCharge } from './index.ts';

// A charge's payment is approved outside any transaction (ARCHITECTURE.md rule 2), and a failure
// between the approval and the posting neither loses nor doubles the money.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;
/** What the provider saw: each approval, and whether the card was free of any open transaction then. */
const calls: { paymentId: string; token: string; outside: boolean }[] = [];
/** Like PortOne: a payment id pays once; asking again for the same id answers the same payment. */
const paid = new Map<string, string>();

const provider: PaymentProvider = {
  name: 'probe',
  async approve(r: PaymentApproval) {
    const outside = await noTransactionOpen(deps.db, (trx) =>
      trx
        .selectFrom('prepaid_card')
        .select('id')
        .where('tenant_id', '=', r.tenantId)
        .where('member_id', '=', r.customerId ?? '')
        .forUpdate()
        .noWait()
        .execute(),
    );
    calls.push({ paymentId: r.paymentId, token: r.token.value, outside });
    if (r.token.value.startsWith('decline')) return { approved: false, reason: 'CARD_DECLINED' };
    const id = paid.get(`${r.tenantId} ${r.paymentId}`) ?? `pg_${paid.size + 1}`;
    paid.set(`${r.tenantId} ${r.paymentId}`, id);
    return { approved: true, paymentId: id, paidAt: new Date() };
  },
  async cancel() {},
};

before(async () => {
  ({ app, deps } = await testApp());
  // The probing provider needs the app's own db, so it is put in after the app is built.
  deps.providers.payment = provider;
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `cs-${++seq}` });

/**
 * The posting of one operation fails once (a real trigger, as if the database went away after the
 * payment's approval). Returns what removes the trigger again. DDL is the tables' owner's: the
 * application's roles may not create triggers.
 */
async function failOnce(tenantId: string, operationId: string): Promise<() => Promise<void>> {
  const fn = `moa_test_fail_once_${`${tenantId}_${operationId}`.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
  const ddl = (...statements: string[]) =>
    asOwner(async () => {
      for (const statement of statements) await sql.raw(statement).execute(deps.db);
    });
  await ddl(
    `create sequence ${fn}_seq`,
    `create function ${fn}() returns trigger language plpgsql as $$
     begin
       if new.tenant_id = '${tenantId}' and new.id = '${operationId}' and nextval('${fn}_seq') = 1 then
         raise exception 'the database went away' using errcode = '57P01';
       end if;
       return new;
     end $$`,
    `create trigger ${fn} before insert on prepaid_operation for each row execute function ${fn}()`,
  );
  return () => ddl(`drop trigger ${fn} on prepaid_operation`, `drop function ${fn}()`, `drop sequence ${fn}_seq`);
}

async function brand(program: object = {}) {
  const t = await newTenant(deps, 'Charge Steps Brand');
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/prepaid/program',
    headers: bearer(t.keys.server),
    payload: { minCharge: 1, chargeUnit: 1, ...program },
  });
  assert.equal(put.statusCode, 200, put.body);
  const [m] = await newMembers(deps, t.tenant.id, 1);
  await addStores(deps, t.tenant.id, ['gangnam']);
  const headers = { ...bearer(t.keys.app), 'x-member-token': await memberToken(deps, t.tenant.id, m!) };
  const card = (
    await app.inject({
      method: 'POST',
      url: '/v1/me/prepaid/cards',
      headers: { ...headers, ...key() },
      payload: { nickname: 'x' },
    })
  ).json().id as string;
  const balance = async () => (await app.inject({ url: '/v1/me/prepaid/cards', headers })).json().items[0].balance as number;
  const charges = async () =>
    (
      await deps.db
        .selectFrom('prepaid_operation')
        .select('id')
        .where('tenant_id', '=', t.tenant.id)
        .where('kind', '=', 'charge')
        .execute()
    ).map((r) => r.id);
  return { t, m: m!, headers, card, balance, charges };
}

test('the payment provider is called with no transaction open: app, POS and auto-charge', async () => {
  const { t, m, headers, card, balance } = await brand();
  calls.length = 0;
  const app1 = await app.inject({
    method: 'POST',
    url: `/v1/me/prepaid/cards/${card}/charges`,
    headers: { ...headers, ...key() },
    payload: { chargeId: 'a1', amount: 1_000, payment: { method: 'card', token: 'pay_a1' } },
  });
  assert.equal(app1.statusCode, 200, app1.body);
  const pos = await app.inject({
    method: 'POST',
    url: '/v1/prepaid/charges',
    headers: { ...bearer(t.keys.pos), ...key() },
    payload: {
      chargeId: 'p1',
      cardId: card,
      amount: 2_000,
      channel: 'offline',
      storeId: 'gangnam',
      payment: { method: 'card', token: 'pay_p1' },
    },
  });
  assert.equal(pos.statusCode, 200, pos.body);
  const declined = await app.inject({
    method: 'POST',
    url: `/v1/me/prepaid/cards/${card}/charges`,
    headers: { ...headers, ...key() },
    payload: { chargeId: 'd1', amount: 1_000, payment: { method: 'card', token: 'decline' } },
  });
  assert.equal(declined.json().code, 'PAYMENT_DECLINED');
  const set = await app.inject({
    method: 'PUT',
    url: `/v1/me/prepaid/cards/${card}/auto-charge`,
    headers: { ...headers, ...key() },
    payload: { kind: 'threshold', threshold: 10_000, amount: 5_000, payment: { method: 'card', token: 'bkey_1234' } },
  });
  assert.equal(set.statusCode, 200, set.body);
  assert.equal(await runAutoCharge(deps, t.tenant.id, card), 'charged');
  assert.equal(await balance(), 8_000);
  assert.deepEqual(
    calls.map((c) => [c.paymentId, c.outside]),
    [
      ['pp.charge.a1', true],
      ['pp.charge.p1', true],
      ['pp.charge.d1', true],
      [`pp.charge.auto.${card}.1`, true],
    ],
  );
  assert.ok(m);
});

test('a failure after the approval: the retry asks the provider again and posts exactly once', async () => {
  const { t, headers, card, balance, charges } = await brand();
  // 1. Through the service: the payment is recorded and approved, then the process "dies" before posting.
  const input = { chargeId: 'c1', cardId: card, amount: 3_000, channel: 'app', payment: { method: 'card', token: 'pay_c1' } };
  const first = await payForCharge(deps, t.tenant.id, input);
  assert.equal(await balance(), 0);
  const pending = await deps.db
    .selectFrom('prepaid_charge_payment')
    .select(['status', 'amount'])
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', 'pp.charge.c1')
    .executeTakeFirstOrThrow();
  assert.deepEqual([pending.status, Number(pending.amount)], ['pending', 3_000]);
  // The pending charge counts against the maximum balance until it is settled.
  await app.inject({
    method: 'PUT',
    url: '/v1/prepaid/program',
    headers: bearer(t.keys.server),
    payload: { minCharge: 1, chargeUnit: 1, maxBalance: 5_000 },
  });
  const over = await app.inject({
    method: 'POST',
    url: `/v1/me/prepaid/cards/${card}/charges`,
    headers: { ...headers, ...key() },
    payload: { chargeId: 'c2', amount: 3_000, payment: { method: 'card', token: 'pay_c2' } },
  });
  assert.deepEqual([over.json().code, over.json().details.pending], ['PREPAID_LIMIT_EXCEEDED', 3_000]);
  // The retry of the same charge id (a new Idempotency-Key) finds it pending, asks again, posts once.
  const retry = await app.inject({
    method: 'POST',
    url: `/v1/me/prepaid/cards/${card}/charges`,
    headers: { ...headers, ...key() },
    payload: { chargeId: 'c1', amount: 3_000, payment: { method: 'card', token: 'pay_c1' } },
  });
  assert.equal(retry.statusCode, 200, retry.body);
  assert.equal(calls.filter((c) => c.paymentId === 'pp.charge.c1').length, 2);
  const again = await app.inject({
    method: 'POST',
    url: `/v1/me/prepaid/cards/${card}/charges`,
    headers: { ...headers, ...key() },
    payload: { chargeId: 'c1', amount: 3_000, payment: { method: 'card', token: 'pay_c1' } },
  });
  assert.equal(again.json().code, 'ORDER_ALREADY_PROCESSED');
  assert.equal(await balance(), 3_000);
  assert.deepEqual(await charges(), ['pp.charge.c1']);
  const op = await deps.db
    .selectFrom('prepaid_operation')
    .select('payment_id')
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', 'pp.charge.c1')
    .executeTakeFirstOrThrow();
  assert.equal(op.payment_id, first.paymentId);

  // 2. Over HTTP: the posting transaction fails once; the same request with the same
  // Idempotency-Key then posts exactly once.
  const restore = await failOnce(t.tenant.id, 'pp.charge.c3');
  try {
    const same = { ...headers, ...key() };
    const payload = { chargeId: 'c3', amount: 2_000, payment: { method: 'card', token: 'pay_c3' } };
    const failed = await app.inject({ method: 'POST', url: `/v1/me/prepaid/cards/${card}/charges`, headers: same, payload });
    assert.equal(failed.statusCode, 503, failed.body);
    assert.equal(await balance(), 3_000);
    const ok = await app.inject({ method: 'POST', url: `/v1/me/prepaid/cards/${card}/charges`, headers: same, payload });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().balance, 5_000);
    const replay = await app.inject({ method: 'POST', url: `/v1/me/prepaid/cards/${card}/charges`, headers: same, payload });
    assert.deepEqual([replay.statusCode, replay.headers['idempotent-replayed'], replay.body], [200, 'true', ok.body]);
  } finally {
    await restore();
  }
  const c3 = calls.filter((c) => c.paymentId === 'pp.charge.c3');
  assert.equal(c3.length, 2, 'asked again on the retry, under the same payment id');
  assert.equal(new Set(c3.map((c) => paid.get(`${t.tenant.id} ${c.paymentId}`))).size, 1);
  assert.equal(await balance(), 5_000);
  assert.deepEqual((await charges()).sort(), ['pp.charge.c1', 'pp.charge.c3']);
  assert.ok((await trialBalance(deps, t.tenant.id)).every((l) => l.total === 0));
});

test('cash at a store is recorded without any payment provider; cash outside a store is refused', async () => {
  const { t, headers, card, balance } = await brand();
  calls.length = 0;
  const cash = await app.inject({
    method: 'POST',
    url: '/v1/prepaid/charges',
    headers: { ...bearer(t.keys.pos), ...key() },
    payload: {
      chargeId: 'cash1',
      cardId: card,
      amount: 5_000,
      channel: 'offline',
      storeId: 'gangnam',
      payment: { method: 'cash', token: 'pos' },
    },
  });
  assert.equal(cash.statusCode, 200, cash.body);
  assert.deepEqual(calls, []);
  assert.equal(await balance(), 5_000);
  const op = await deps.db
    .selectFrom('prepaid_operation')
    .select(['payment_method', 'payment_id', 'store_id'])
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', 'pp.charge.cash1')
    .executeTakeFirstOrThrow();
  assert.deepEqual(op, { payment_method: 'cash', payment_id: null, store_id: 'gangnam' });
  // Cash in the app, or from a server without a store, is not money anybody collected.
  const inApp = await app.inject({
    method: 'POST',
    url: `/v1/me/prepaid/cards/${card}/charges`,
    headers: { ...headers, ...key() },
    payload: { chargeId: 'cash2', amount: 1_000, payment: { method: 'cash', token: 'x' } },
  });
  assert.deepEqual([inApp.statusCode, inApp.json().errors?.[0]?.field], [400, 'payment.method']);
  const noStore = await app.inject({
    method: 'POST',
    url: '/v1/prepaid/charges',
    headers: { ...bearer(t.keys.server), ...key() },
    payload: { chargeId: 'cash3', cardId: card, amount: 1_000, channel: 'offline', payment: { method: 'cash', token: 'pos' } },
  });
  assert.equal(noStore.statusCode, 400, noStore.body);
  assert.deepEqual(calls, []);
  assert.equal(await balance(), 5_000);
  // A cash charge is cancelled at its store with nothing to refund through a provider.
  const cancel = await app.inject({
    method: 'POST',
    url: '/v1/prepaid/charges/cancel',
    headers: { ...bearer(t.keys.pos), ...key() },
    payload: { cancelId: 'x1', chargeId: 'cash1', channel: 'offline', storeId: 'gangnam' },
  });
  assert.equal(cancel.statusCode, 200, cancel.body);
  assert.equal(await balance(), 0);
});

test('an auto-charge run that died after the payment is taken up after its lease, as moa_system, and posts once', async () => {
  const { t, headers, card, balance, charges } = await brand();
  const set = await app.inject({
    method: 'PUT',
    url: `/v1/me/prepaid/cards/${card}/auto-charge`,
    headers: { ...headers, ...key() },
    payload: { kind: 'threshold', threshold: 10_000, amount: 5_000, payment: { method: 'card', token: 'bkey_lease' } },
  });
  assert.ok(set.json().nextAttemptAt, 'an empty card is below the threshold at once');
  const clock = fixedClock(new Date(Date.now() + 1_000));
  const d = { ...deps, clock };
  const chargeId = `auto.${card}.1`;
  // The run claims the row, the provider approves, then the posting fails: the run stops there.
  const restore = await failOnce(t.tenant.id, `pp.charge.${chargeId}`);
  try {
    await assert.rejects(asSystem(() => runAutoCharge(d, t.tenant.id, card)));
  } finally {
    await restore();
  }
  const state = () =>
    asSystem(() =>
      deps.db
        .selectFrom('prepaid_charge_payment')
        .select('status')
        .where('tenant_id', '=', t.tenant.id)
        .where('id', '=', `pp.charge.${chargeId}`)
        .executeTakeFirstOrThrow(),
    );
  assert.equal((await state()).status, 'pending');
  assert.equal(await balance(), 0);

  // While the lease runs, no other run pays again.
  clock.advance(60_000);
  assert.equal(await asSystem(() => runAutoCharge(d, t.tenant.id, card)), 'not_due');
  clock.advance(5 * 60_000);
  // Row-level security: with no context, or under another tenant, the row is not there at all.
  const other = await newTenant(deps, 'Charge Steps Other');
  assert.equal(await withoutTenant(() => runAutoCharge(d, t.tenant.id, card)), 'not_due');
  assert.equal(await withTenant(other.tenant.id, () => runAutoCharge(d, t.tenant.id, card)), 'not_due');
  assert.equal((await state()).status, 'pending');
  // The job's run (moa_system, as startJobs runs it) pays under the same id and posts once.
  assert.equal(await asSystem(() => runAutoCharge(d, t.tenant.id, card)), 'charged');
  assert.equal((await state()).status, 'approved');
  const asked = calls.filter((c) => c.paymentId === `pp.charge.${chargeId}`);
  assert.equal(asked.length, 2, 'asked again after the lease, under the same payment id');
  assert.ok(asked.every((c) => c.outside));
  assert.equal(await balance(), 5_000);
  assert.deepEqual(await charges(), [`pp.charge.${chargeId}`]);
  assert.equal(await asSystem(() => runAutoCharge(d, t.tenant.id, card)), 'not_due');
  const attempts = await asSystem(() =>
    deps.db
      .selectFrom('prepaid_auto_charge_attempt')
      .select(['outcome', 'charge_id'])
      .where('tenant_id', '=', t.tenant.id)
      .where('card_id', '=', card)
      .execute(),
  );
  assert.deepEqual(
    attempts.map((a) => [a.outcome, a.charge_id]),
    [['charged', chargeId]],
  );
});
