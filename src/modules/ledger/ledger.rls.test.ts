import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import { newTenant, testDeps } from '../../../test/helpers.ts';
import { withTransaction } from '../../platform/db.ts';
import { currentDbContext, type DbContext, withoutTenant, withTenant } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { getAccount, openAccount, type PostTransaction, post, postInTransaction, systemAccount } from './index.ts';

// The group committer batches several tenants' transactions into one call of ledger_post: the batch
// runs as moa_system, each item names its tenant, and a tenant's context cannot submit another's.

let deps: Deps;
before(async () => {
  deps = await testDeps();
});

async function setup() {
  const { tenant } = await newTenant(deps, 'RLS ledger');
  const t = tenant.id;
  const wallet = await openAccount(deps, t, {
    ledger: 'POINT',
    ownerType: 'member',
    ownerId: 'mem_1',
    kind: 'wallet',
    debitsMustNotExceedCredits: true,
  });
  const issuance = await systemAccount(deps, t, 'POINT', 'issuance');
  const earn = (amount: number): PostTransaction => ({
    tenantId: t,
    id: `earn-${randomBytes(6).toString('hex')}`,
    code: 'EARN',
    legs: [{ debit: issuance.id, credit: wallet.id, amount, ledger: 'POINT' }],
  });
  return { t, wallet, earn };
}

test('one group-commit batch posts two tenants as moa_system; a tenant context cannot submit or post for another tenant', async () => {
  const a = await setup();
  const b = await setup();
  const batches: (DbContext | undefined)[] = [];
  const probe: KyselyPlugin = {
    transformQuery: (args) => {
      if (JSON.stringify(args.node).includes('ledger_post(')) batches.push(currentDbContext());
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  // Its own database handle, so its own committer: every batch it sends is seen here.
  const probed = { db: deps.db.withPlugin(probe) };

  // Two requests, one per tenant, post in the same tick: one batch carries both.
  const results = await Promise.all([
    withTenant(a.t, () => post(probed, a.earn(100))),
    withTenant(b.t, () => post(probed, b.earn(250))),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['posted', 'posted'],
  );
  assert.deepEqual(batches, [{ kind: 'system' }]);
  assert.equal((await withTenant(a.t, () => getAccount(deps, a.t, a.wallet.id))).balance.posted, 100);
  assert.equal((await withTenant(b.t, () => getAccount(deps, b.t, b.wallet.id))).balance.posted, 250);
  // Without a context the batch is still posted as moa_system (a job's path).
  assert.equal((await withoutTenant(() => post(probed, b.earn(1)))).status, 'posted');

  // Tenant A's request submitting B's transaction is refused before it reaches the batch…
  await assert.rejects(
    withTenant(a.t, () => post(probed, b.earn(5))),
    /submitted for tenant/,
  );
  // …and inside A's transaction row-level security refuses B's rows.
  await assert.rejects(
    withTenant(a.t, () => withTransaction(deps.db, (trx) => postInTransaction(trx, b.earn(7)))),
    (err: { code?: string }) => err.code === '42501',
  );
  assert.equal((await withTenant(b.t, () => getAccount(deps, b.t, b.wallet.id))).balance.posted, 251);
});
