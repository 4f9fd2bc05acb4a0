// The PortOne payment adapter against a local PortOne API (test/fakes/portone.fake.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type PortOneFake, startPortOneFake } from '../../../test/fakes/portone.fake.ts';
import { bearer, memberToken, newMembers, newTenant, testApp, testConfig } from '../../../test/helpers.ts';
import { AppError } from '../../platform/errors.ts';
import { billingKeyPaymentId, portoneCustomData, portonePayments } from './prepaid.portone.ts';
import type { PaymentApproval } from './prepaid.provider.ts';
import { refundPayment } from './prepaid.service.ts';

const SECRET = 'portone-secret-test';
const STORE = 'store-00000000-0000-0000-0000-000000000001';
let fake: PortOneFake;

before(async () => {
  fake = await startPortOneFake({ secret: SECRET, storeId: STORE });
});
after(() => fake.close());

const adapter = (over: { apiSecret?: string; storeId?: string } = {}) =>
  portonePayments({ apiSecret: SECRET, storeId: STORE, baseUrl: fake.baseUrl, ...over });

const TENANT = 'tnt_A';
let seq = 0;
const approval = (amount: number, token: PaymentApproval['token'], paymentId = `pp.charge.c${++seq}`): PaymentApproval => ({
  tenantId: TENANT,
  paymentId,
  orderName: 'Prepaid charge',
  amount,
  currency: 'KRW',
  method: 'card',
  token,
  customerId: 'mbr_1',
});

/** A charge the app paid with PortOne as the README says: paymentId sent as the token, customData binding it. */
function paidCharge(amount: number, over: { total?: number; currency?: string; customData?: string; storeId?: string } = {}) {
  const portoneId = `pay-${Date.now()}-${++seq}`;
  const r = approval(amount, { kind: 'payment', value: portoneId });
  fake.paid(portoneId, {
    total: over.total ?? amount,
    customData: over.customData ?? portoneCustomData(TENANT, r.paymentId),
    ...(over.currency ? { currency: over.currency } : {}),
    ...(over.storeId ? { storeId: over.storeId } : {}),
  });
  return r;
}

async function rejects(p: Promise<unknown>, code: string, details: Record<string, unknown> = {}) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, k);
    return true;
  });
}

const cancellation = (paymentId: string, amount: number, cancellationId = `pp.charge-cancel.x${++seq}`) => ({
  tenantId: TENANT,
  paymentId,
  amount,
  reason: 'Prepaid charge cancelled',
  cancellationId,
});

test('a PAID payment of the charge’s amount in KRW, made for this charge, is approved under its paymentId', async () => {
  const r = paidCharge(10_000);
  const outcome = await adapter().approve(r);
  assert.ok(outcome.approved);
  assert.equal(outcome.paymentId, r.token.value);
  assert.equal(outcome.transactionId, `tx-${r.token.value}`);
  const last = fake.requests.at(-1)!;
  assert.equal(last.method, 'GET');
  assert.equal(last.path, `/payments/${r.token.value}`);
  assert.equal(last.authorization, `PortOne ${SECRET}`);
});

test('a wrong amount, another currency, another store or an unpaid payment is declined with its reason', async () => {
  const reason = async (r: PaymentApproval) => {
    const o = await adapter().approve(r);
    assert.ok(!o.approved);
    return o.reason;
  };
  assert.equal(await reason(paidCharge(10_000, { total: 100 })), 'AMOUNT_MISMATCH');
  assert.equal(await reason(paidCharge(10_000, { currency: 'USD' })), 'CURRENCY_MISMATCH');
  assert.equal(await reason(paidCharge(10_000, { storeId: 'store-other' })), 'STORE_MISMATCH');
  for (const status of ['READY', 'FAILED'] as const) {
    const r = paidCharge(10_000);
    fake.unpaid(r.token.value, status, 10_000);
    assert.equal(await reason(r), 'PAYMENT_NOT_PAID');
  }
  assert.equal(await reason(approval(1000, { kind: 'payment', value: 'no-such-payment' })), 'PAYMENT_NOT_FOUND');
});

test('one payment pays one charge of one brand: another charge, another tenant or no binding is declined', async () => {
  const r = paidCharge(5000);
  assert.deepEqual(await adapter().approve({ ...r, paymentId: 'pp.charge.other' }), {
    approved: false,
    reason: 'PAYMENT_NOT_FOR_THIS_CHARGE',
  });
  assert.deepEqual(await adapter().approve({ ...r, tenantId: 'tnt_B' }), {
    approved: false,
    reason: 'PAYMENT_NOT_FOR_THIS_CHARGE',
  });
  assert.deepEqual(await adapter().approve(paidCharge(5000, { customData: 'not json' })), {
    approved: false,
    reason: 'PAYMENT_NOT_FOR_THIS_CHARGE',
  });
});

test('a wrong secret (UNAUTHORIZED) or store (FORBIDDEN), a gateway page or no server is PAYMENT_PROVIDER_ERROR', async () => {
  const r = paidCharge(1000);
  await rejects(adapter({ apiSecret: 'wrong' }).approve(r), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'UNAUTHORIZED',
    providerStatus: 401,
  });
  await rejects(adapter({ storeId: 'store-other' }).approve(r), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'FORBIDDEN',
    providerStatus: 403,
  });
  fake.failNextWith(502);
  await rejects(adapter().approve(r), 'PAYMENT_PROVIDER_ERROR');
  await rejects(
    portonePayments({ apiSecret: SECRET, baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 }).approve(r),
    'PAYMENT_PROVIDER_ERROR',
  );
});

test('a billing key pays server to server under a paymentId of the tenant and the charge; a retry confirms, never pays twice', async () => {
  fake.billingKey('billing-key-ok');
  const r = approval(30_000, { kind: 'billing_key', value: 'billing-key-ok' });
  const first = await adapter().approve(r);
  const id = billingKeyPaymentId(TENANT, r.paymentId);
  assert.ok(first.approved);
  assert.equal(first.paymentId, id);
  const sent = fake.requests.at(-1)!;
  assert.equal(sent.path, `/payments/${encodeURIComponent(id)}/billing-key`);
  assert.deepEqual(sent.body, {
    storeId: STORE,
    billingKey: 'billing-key-ok',
    orderName: 'Prepaid charge',
    customer: { id: 'mbr_1' },
    amount: { total: 30_000 },
    currency: 'KRW',
  });
  // The answer was lost and the charge runs again: ALREADY_PAID, then the lookup approves it.
  const again = await adapter().approve(r);
  assert.ok(again.approved);
  assert.equal(again.paymentId, id);
  assert.equal(fake.payment(id)?.amount.total, 30_000);
  // The same charge again with another amount is not that payment.
  assert.deepEqual(await adapter().approve({ ...r, amount: 40_000 }), {
    approved: false,
    reason: 'AMOUNT_MISMATCH',
    message: 'PortOne holds 30000, the charge is 40000.',
  });
});

test('a billing key that is unknown, deleted or refused by the card company is declined with its code', async () => {
  fake.billingKey('billing-key-deleted', { deleted: true });
  fake.billingKey('billing-key-limit', { declineWith: { pgCode: 'LIMIT_EXCEEDED', pgMessage: '한도 초과' } });
  const reason = async (key: string) => {
    const o = await adapter().approve(approval(1000, { kind: 'billing_key', value: key }));
    assert.ok(!o.approved);
    return o.reason;
  };
  assert.equal(await reason('billing-key-unknown'), 'BILLING_KEY_NOT_FOUND');
  assert.equal(await reason('billing-key-deleted'), 'BILLING_KEY_ALREADY_DELETED');
  assert.equal(await reason('billing-key-limit'), 'PG_LIMIT_EXCEEDED');
  await rejects(
    adapter({ apiSecret: 'wrong' }).approve(approval(1000, { kind: 'billing_key', value: 'billing-key-ok' })),
    'PAYMENT_PROVIDER_ERROR',
    {
      providerError: 'UNAUTHORIZED',
    },
  );
});

test('cancel cancels once per cancellation id: a repeated delivery finds its own cancel and does nothing', async () => {
  const r = paidCharge(20_000);
  const c = cancellation(r.token.value, 20_000);
  await adapter().cancel(c);
  const sent = fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/cancel')).at(-1)!;
  assert.equal(sent.path, `/payments/${r.token.value}/cancel`);
  assert.deepEqual(sent.body, {
    storeId: STORE,
    amount: 20_000,
    currentCancellableAmount: 20_000,
    reason: `Prepaid charge cancelled [moa:${c.cancellationId}]`,
    requester: 'ADMIN',
  });
  assert.equal(fake.payment(r.token.value)?.status, 'CANCELLED');
  const posts = fake.requests.length;
  await adapter().cancel(c);
  assert.equal(fake.requests.length, posts + 1, 'only the lookup');
  assert.equal(fake.payment(r.token.value)?.amount.cancelled, 20_000);
  // Once cancelled, the payment cannot pay a charge any more.
  assert.deepEqual(await adapter().approve(r), { approved: false, reason: 'PAYMENT_CANCELLED' });
});

test('two partial cancels with their own ids both apply, each once', async () => {
  const r = paidCharge(10_000);
  const a = cancellation(r.token.value, 3000);
  const b = cancellation(r.token.value, 2000);
  await adapter().cancel(a);
  await adapter().cancel(b);
  await adapter().cancel(a);
  await adapter().cancel(b);
  assert.equal(fake.payment(r.token.value)?.amount.cancelled, 5000);
  assert.equal(fake.payment(r.token.value)?.status, 'PARTIAL_CANCELLED');
});

test('cancel failures throw for the outbox to retry: unknown, more than cancellable, cancelled elsewhere, bad secret', async () => {
  await rejects(adapter().cancel(cancellation('no-such-payment', 1000)), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'PAYMENT_NOT_FOUND',
  });
  const r = paidCharge(3000);
  await rejects(adapter().cancel(cancellation(r.token.value, 5000)), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT',
  });
  await rejects(adapter({ apiSecret: 'wrong' }).cancel(cancellation(r.token.value, 3000)), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'UNAUTHORIZED',
  });
  assert.equal(fake.payment(r.token.value)?.amount.cancelled, 0);
  fake.cancelElsewhere(r.token.value);
  await rejects(adapter().cancel(cancellation(r.token.value, 3000)), 'PAYMENT_PROVIDER_ERROR');
});

// End to end through the HTTP API, with PAYMENT_PROVIDER=portone in the configuration.
test('HTTP: PAYMENT_PROVIDER=portone credits a PortOne payment once, declines a tampered one, and refunds a cancelled charge', async () => {
  const config = testConfig({
    PAYMENT_PROVIDER: 'portone',
    PORTONE_API_SECRET: SECRET,
    PORTONE_API_BASE_URL: fake.baseUrl,
    PORTONE_STORE_ID: STORE,
  });
  const { app, deps } = await testApp({ config });
  try {
    const t = await newTenant(deps, 'PortOne Prepaid Brand');
    const [memberId] = await newMembers(deps, t.tenant.id, 1);
    const headers = { ...bearer(t.keys.app), 'x-member-token': await memberToken(deps, t.tenant.id, memberId!) };
    let k = 0;
    const me = (url: string, payload: object) =>
      app.inject({ method: 'POST', url, headers: { ...headers, 'idempotency-key': `e2e-${Date.now()}-${++k}` }, payload });
    const card = (await me('/v1/me/prepaid/cards', { nickname: 'main' })).json().id as string;
    const balance = async () => (await app.inject({ url: '/v1/me/prepaid/cards', headers })).json().items[0].balance as number;

    // The app paid 10,000 won with PortOne's browser SDK, bound to charge e2e1 of this tenant.
    fake.paid('portone-e2e-1', { total: 10_000, customData: portoneCustomData(t.tenant.id, 'pp.charge.e2e1') });
    const charged = await me(`/v1/me/prepaid/cards/${card}/charges`, {
      chargeId: 'e2e1',
      amount: 10_000,
      payment: { method: 'card', token: 'portone-e2e-1' },
    });
    assert.equal(charged.statusCode, 200, charged.body);
    assert.equal(await balance(), 10_000);

    // The same payment for another charge, or a payment of 100 won sent as 50,000: declined, nothing written.
    const reused = await me(`/v1/me/prepaid/cards/${card}/charges`, {
      chargeId: 'e2e2',
      amount: 10_000,
      payment: { method: 'card', token: 'portone-e2e-1' },
    });
    assert.equal(reused.statusCode, 422, reused.body);
    assert.match(String(reused.headers['content-type']), /application\/problem\+json/);
    assert.deepEqual([reused.json().code, reused.json().details.reason], ['PAYMENT_DECLINED', 'PAYMENT_NOT_FOR_THIS_CHARGE']);
    fake.paid('portone-e2e-3', { total: 100, customData: portoneCustomData(t.tenant.id, 'pp.charge.e2e3') });
    const tampered = await me(`/v1/me/prepaid/cards/${card}/charges`, {
      chargeId: 'e2e3',
      amount: 50_000,
      payment: { method: 'card', token: 'portone-e2e-3' },
    });
    assert.deepEqual([tampered.statusCode, tampered.json().details.reason], [422, 'AMOUNT_MISMATCH']);
    const unknown = await me(`/v1/me/prepaid/cards/${card}/charges`, {
      chargeId: 'e2e4',
      amount: 10_000,
      payment: { method: 'card', token: 'no-such-payment' },
    });
    assert.deepEqual([unknown.statusCode, unknown.json().details.reason], [422, 'PAYMENT_NOT_FOUND']);
    assert.equal(await balance(), 10_000);
    const ops = await deps.db.selectFrom('prepaid_operation').select('id').where('tenant_id', '=', t.tenant.id).execute();
    assert.deepEqual(
      ops.map((o) => o.id),
      ['pp.charge.e2e1'],
    );

    // Cancelling the charge refunds the PortOne payment through the outbox, once.
    const cancelled = await me('/v1/me/prepaid/charges/cancel', { cancelId: 'e2e1x', chargeId: 'e2e1' });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    const message = await deps.db
      .selectFrom('outbox')
      .selectAll()
      .where('tenant_id', '=', t.tenant.id)
      .where('topic', '=', 'prepaid.payment_refund')
      .executeTakeFirstOrThrow();
    const deliver = refundPayment(deps);
    const delivery = { tenantId: t.tenant.id, id: message.id, topic: message.topic, payload: message.payload, attempts: 1 };
    await deliver(delivery);
    await deliver(delivery); // at least once
    assert.equal(fake.payment('portone-e2e-1')?.status, 'CANCELLED');
    assert.equal(fake.payment('portone-e2e-1')?.amount.cancelled, 10_000);
  } finally {
    await app.close();
  }
});
