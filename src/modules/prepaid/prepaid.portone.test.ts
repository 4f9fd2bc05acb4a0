// The PortOne payment adapter against a local PortOne API (test/fakes/portone.fake.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPortOneFake, type PortOneFake } from '../../../test/fakes/portone.fake.ts';
import { AppError } from '../../platform/errors.ts';
import { portoneCustomData, portonePayments } from './prepaid.portone.ts';

const SECRET = 'portone-secret-test';
const STORE = 'store-00000000-0000-0000-0000-000000000001';
let fake: PortOneFake;

before(async () => {
  fake = await startPortOneFake({ secret: SECRET, storeId: STORE });
});
after(() => fake.close());

const adapter = (over: { apiSecret?: string; storeId?: string } = {}) => portonePayments({ apiSecret: SECRET, storeId: STORE, baseUrl: fake.baseUrl, ...over });

const TENANT = 'tnt_A';
let seq = 0;
/** A charge the app paid with PortOne as the README says: paymentId sent as the token, customData binding it. */
function paidCharge(amount: number, over: { total?: number; currency?: string; customData?: string; storeId?: string } = {}) {
  const reference = `pp.charge.c${++seq}`;
  const paymentId = `pay-${Date.now()}-${seq}`;
  fake.paid(paymentId, { total: over.total ?? amount, customData: over.customData ?? portoneCustomData(TENANT, reference), ...(over.currency ? { currency: over.currency } : {}), ...(over.storeId ? { storeId: over.storeId } : {}) });
  return { tenantId: TENANT, reference, amount, method: 'card', token: paymentId };
}

async function rejects(p: Promise<unknown>, code: string, details: Record<string, unknown> = {}) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, k);
    return true;
  });
}

test('a PAID payment of the charge’s amount in KRW, made for this charge, is approved under its paymentId', async () => {
  const r = paidCharge(10_000);
  assert.deepEqual(await adapter().pay(r), { approved: true, paymentId: r.token });
  const last = fake.requests.at(-1)!;
  assert.equal(last.method, 'GET');
  assert.equal(last.path, `/payments/${r.token}`);
  assert.equal(last.authorization, `PortOne ${SECRET}`);
});

test('a wrong amount, another currency, another store or an unpaid payment is declined with its reason', async () => {
  assert.deepEqual(await adapter().pay(paidCharge(10_000, { total: 100 })), { approved: false, reason: 'AMOUNT_MISMATCH' });
  assert.deepEqual(await adapter().pay(paidCharge(10_000, { currency: 'USD' })), { approved: false, reason: 'CURRENCY_MISMATCH' });
  assert.deepEqual(await adapter().pay(paidCharge(10_000, { storeId: 'store-other' })), { approved: false, reason: 'STORE_MISMATCH' });
  for (const status of ['READY', 'FAILED'] as const) {
    const r = paidCharge(10_000);
    fake.unpaid(r.token, status, 10_000);
    assert.deepEqual(await adapter().pay(r), { approved: false, reason: 'PAYMENT_NOT_PAID' });
  }
});

test('an unknown paymentId is PAYMENT_NOT_FOUND, declined', async () => {
  assert.deepEqual(await adapter().pay({ tenantId: TENANT, reference: 'pp.charge.x', amount: 1000, method: 'card', token: 'no-such-payment' }), {
    approved: false,
    reason: 'PAYMENT_NOT_FOUND',
  });
});

test('one payment pays one charge of one brand: another charge, another tenant or no binding is declined', async () => {
  const r = paidCharge(5000);
  assert.deepEqual(await adapter().pay({ ...r, reference: 'pp.charge.other' }), { approved: false, reason: 'PAYMENT_NOT_FOR_THIS_CHARGE' });
  assert.deepEqual(await adapter().pay({ ...r, tenantId: 'tnt_B' }), { approved: false, reason: 'PAYMENT_NOT_FOR_THIS_CHARGE' });
  assert.deepEqual(await adapter().pay(paidCharge(5000, { customData: 'not json' })), { approved: false, reason: 'PAYMENT_NOT_FOR_THIS_CHARGE' });
});

test('a wrong secret (UNAUTHORIZED) or store (FORBIDDEN), a gateway page or no server is PAYMENT_PROVIDER_ERROR', async () => {
  const r = paidCharge(1000);
  await rejects(adapter({ apiSecret: 'wrong' }).pay(r), 'PAYMENT_PROVIDER_ERROR', { providerError: 'UNAUTHORIZED', providerStatus: 401 });
  await rejects(adapter({ storeId: 'store-other' }).pay(r), 'PAYMENT_PROVIDER_ERROR', { providerError: 'FORBIDDEN', providerStatus: 403 });
  fake.failNextWith(502);
  await rejects(adapter().pay(r), 'PAYMENT_PROVIDER_ERROR');
  await rejects(portonePayments({ apiSecret: SECRET, baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 }).pay(r), 'PAYMENT_PROVIDER_ERROR');
});

test('refund cancels the payment in full once; a repeated delivery finds PAYMENT_ALREADY_CANCELLED and succeeds', async () => {
  const r = paidCharge(20_000);
  await adapter().refund({ tenantId: TENANT, paymentId: r.token, amount: 20_000 });
  const cancel = fake.requests.at(-1)!;
  assert.equal(cancel.method, 'POST');
  assert.equal(cancel.path, `/payments/${r.token}/cancel`);
  assert.deepEqual(cancel.body, { storeId: STORE, amount: 20_000, currentCancellableAmount: 20_000, reason: 'Prepaid charge cancelled', requester: 'ADMIN' });
  assert.equal(fake.payment(r.token)?.status, 'CANCELLED');
  await adapter().refund({ tenantId: TENANT, paymentId: r.token, amount: 20_000 });
  assert.equal(fake.payment(r.token)?.amount.cancelled, 20_000);
  // Once cancelled, the payment cannot pay a charge any more.
  assert.deepEqual(await adapter().pay(r), { approved: false, reason: 'PAYMENT_CANCELLED' });
});

test('refund failures are errors the outbox retries: not found, more than cancellable, changed meanwhile, bad secret', async () => {
  await rejects(adapter().refund({ tenantId: TENANT, paymentId: 'no-such-payment', amount: 1000 }), 'PAYMENT_PROVIDER_ERROR', { providerError: 'PAYMENT_NOT_FOUND' });
  const r = paidCharge(3000);
  await rejects(adapter().refund({ tenantId: TENANT, paymentId: r.token, amount: 5000 }), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN',
  });
  await rejects(adapter({ apiSecret: 'wrong' }).refund({ tenantId: TENANT, paymentId: r.token, amount: 3000 }), 'PAYMENT_PROVIDER_ERROR', {
    providerError: 'UNAUTHORIZED',
  });
  assert.equal(fake.payment(r.token)?.amount.cancelled, 0);
  assert.equal(fake.payment(r.token)?.status, 'PAID');
});
