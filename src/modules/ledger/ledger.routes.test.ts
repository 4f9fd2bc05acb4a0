import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { openAccount, post, systemAccount } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let a: TestTenant;
let b: TestTenant;
let wallet: string;

before(async () => {
  ({ app, deps } = await testApp());
  a = await newTenant(deps, 'Ledger A');
  b = await newTenant(deps, 'Ledger B');
  const issuance = await systemAccount(deps, a.tenant.id, 'POINT', 'issuance');
  wallet = (
    await openAccount(deps, a.tenant.id, {
      ledger: 'POINT',
      ownerType: 'member',
      ownerId: 'm1',
      kind: 'wallet',
      debitsMustNotExceedCredits: true,
      hasLots: true,
    })
  ).id;
  for (let i = 0; i < 3; i++) {
    await post(deps, {
      tenantId: a.tenant.id,
      id: `earn-${i}`,
      code: 'EARN',
      reference: `order-${i}`,
      legs: [
        {
          debit: issuance.id,
          credit: wallet,
          amount: 100 * (i + 1),
          ledger: 'POINT',
          expiresAt: new Date(Date.now() + (i + 1) * 86_400_000),
        },
      ],
    });
  }
});
after(() => app.close());

test('GET /v1/ledger/accounts/{id}: balances of the key’s tenant; another tenant gets 404', async () => {
  const res = await app.inject({ url: `/v1/ledger/accounts/${wallet}`, headers: bearer(a.key) });
  assert.equal(res.statusCode, 200);
  for (const scope of ['pos', 'app'] as const) {
    const raw = await app.inject({ url: `/v1/ledger/accounts/${wallet}`, headers: bearer(a.keys[scope]) });
    assert.equal(raw.statusCode, 403, `raw ledger reads are for server keys, not ${scope}`);
  }
  const account = res.json();
  assert.equal(account.ledger, 'POINT');
  assert.deepEqual(
    { posted: account.balance.posted, available: account.balance.available, pending: account.balance.pending },
    { posted: 600, available: 600, pending: 0 },
  );
  assert.equal(account.flags.hasLots, true);

  for (const path of ['', '/entries', '/lots', `/balance-at?at=${encodeURIComponent(new Date().toISOString())}`]) {
    const other = await app.inject({ url: `/v1/ledger/accounts/${wallet}${path}`, headers: bearer(b.key) });
    assert.equal(other.statusCode, 404, `tenant B reads nothing of A at ${path || '/'}`);
    assert.equal(other.json().code, 'NOT_FOUND');
  }
  const bad = await app.inject({ url: '/v1/ledger/accounts/not-an-id', headers: bearer(a.key) });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().errors[0].field, 'params.accountId');
});

test('entries come newest first with reason and resulting balance, paged by cursor', async () => {
  const first = await app.inject({ url: `/v1/ledger/accounts/${wallet}/entries?limit=2`, headers: bearer(a.key) });
  assert.equal(first.statusCode, 200);
  const page = first.json();
  assert.deepEqual(
    page.items.map((e: { transactionId: string; amount: number; balanceAfter: number; reference: string }) => [
      e.transactionId,
      e.amount,
      e.balanceAfter,
      e.reference,
    ]),
    [
      ['earn-2', 300, 600, 'order-2'],
      ['earn-1', 200, 300, 'order-1'],
    ],
  );
  const next = await app.inject({
    url: `/v1/ledger/accounts/${wallet}/entries?limit=2&cursor=${page.nextCursor}`,
    headers: bearer(a.key),
  });
  assert.deepEqual(
    next.json().items.map((e: { transactionId: string }) => e.transactionId),
    ['earn-0'],
  );
  assert.equal(next.json().nextCursor, null);
});

test('lots are listed first-expiring first; the trial balance is for server keys', async () => {
  const lots = await app.inject({ url: `/v1/ledger/accounts/${wallet}/lots`, headers: bearer(a.key) });
  assert.deepEqual(
    lots.json().items.map((l: { transactionId: string; remaining: number }) => [l.transactionId, l.remaining]),
    [
      ['earn-0', 100],
      ['earn-1', 200],
      ['earn-2', 300],
    ],
  );
  const forbidden = await app.inject({ url: '/v1/ledger/trial-balance', headers: bearer(a.keys.pos) });
  assert.equal(forbidden.statusCode, 403);
  const tb = await app.inject({ url: '/v1/ledger/trial-balance', headers: bearer(a.keys.server) });
  assert.deepEqual(tb.json().items, [{ ledger: 'POINT', accounts: 2, total: 0 }]);
  const before = await app.inject({
    url: `/v1/ledger/accounts/${wallet}/balance-at?at=2000-01-01T00:00:00Z`,
    headers: bearer(a.key),
  });
  assert.equal(before.json().posted, 0);
});
