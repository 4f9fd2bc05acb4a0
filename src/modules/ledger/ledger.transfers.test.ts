import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { newTenant, testDeps } from '../../../test/helpers.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { getAccount, openAccount, systemAccount } from './index.ts';
import type { BatchItem, BatchResult } from './ledger.repository.ts';

// ledger_post takes a batch of plain transfers set-based (ledger_post_transfers) and everything
// else, batches of one included, one by one (ledger_post_each). The set-based path must either write nothing and say so
// (null), or write exactly what the one-by-one path would have written. Two tenants get the same
// batches: one through the set-based path (falling back as ledger_post does), the other always
// one by one; results, rows and balances must be the same.

let deps: Deps;
const AT = '2026-12-02T00:00:00.000Z';
before(async () => {
  deps = await testDeps();
});

async function call(db: Db, fn: 'ledger_post_transfers' | 'ledger_post_each', batch: BatchItem[]): Promise<BatchResult[] | null> {
  const { rows } = await sql<{
    r: BatchResult[] | string | null;
  }>`select ${sql.raw(fn)}(${JSON.stringify(batch)}::jsonb) as r`.execute(db);
  const r = rows[0]!.r;
  return typeof r === 'string' ? JSON.parse(r) : r;
}

async function books() {
  const { tenant } = await newTenant(deps);
  const t = tenant.id;
  const wallets = [];
  // The last wallet keeps lots (expiring points): credits make lots, debits draw from them.
  for (let i = 0; i < 4; i++) {
    const spec = {
      ledger: 'POINT',
      ownerType: 'member',
      ownerId: `m${i}`,
      kind: 'wallet',
      debitsMustNotExceedCredits: true,
      hasLots: i === 3,
    };
    wallets.push(await openAccount(deps, t, spec));
  }
  // A budget that may not be credited beyond what it was debited, and an account of another ledger.
  const budget = await openAccount(deps, t, {
    ledger: 'POINT',
    ownerType: 'tenant',
    ownerId: t,
    kind: 'budget',
    creditsMustNotExceedDebits: true,
  });
  const stamps = await openAccount(deps, t, { ledger: 'STAMP:card_1', ownerType: 'member', ownerId: 'm0', kind: 'wallet' });
  const issuance = await systemAccount(deps, t, 'POINT', 'issuance');
  const revenue = await systemAccount(deps, t, 'POINT', 'revenue');
  // Opening balances, so that most batches fit and some do not.
  const opening = [...wallets.map((w) => ({ d: issuance.id, c: w.id, a: 300 })), { d: budget.id, c: issuance.id, a: 200 }];
  await call(deps.db, 'ledger_post_each', [
    {
      t,
      id: 'opening',
      h: 'opening',
      k: 'post',
      code: 'OPENING',
      ref: null,
      memo: null,
      at: AT,
      legs: opening.map((l) => ({ ...l, l: 'POINT' })),
    },
  ]);
  return { t, accounts: [...wallets, budget, issuance, revenue, stamps].map((a) => a.id) };
}

// Account ids in text replaced by their index in `accounts`: the two tenants' books compare equal.
const anonymize = (text: string, accounts: string[]) => text.replaceAll(/acc_[0-9a-z]+/g, (id) => `#${accounts.indexOf(id)}`);

// The rows a tenant's posting wrote, with account ids replaced by their index in `accounts`.
async function rows(t: string, accounts: string[]) {
  const at = (id: string) => accounts.indexOf(id);
  const txs = await deps.db
    .selectFrom('ledger_transaction')
    .select([
      'id',
      'request_hash',
      'kind',
      'status',
      'code',
      'reference',
      'memo',
      'event_at',
      'rejection',
      'target_id',
      'timeout_at',
    ])
    .where('tenant_id', '=', t)
    .orderBy('id')
    .execute();
  const postings = await deps.db
    .selectFrom('ledger_posting')
    .select(['account_id', 'transaction_id', 'leg', 'amount', 'pending', 'balance_after', 'lot_expires_at'])
    .where('tenant_id', '=', t)
    .orderBy('seq')
    .execute();
  const lots = await deps.db
    .selectFrom('ledger_lot')
    .select(['account_id', 'transaction_id', 'leg', 'amount', 'remaining', 'expires_at'])
    .where('tenant_id', '=', t)
    .orderBy('id')
    .execute();
  const allocations = await deps.db
    .selectFrom('ledger_lot_allocation')
    .select(['transaction_id', 'leg', 'account_id', 'amount'])
    .where('tenant_id', '=', t)
    .orderBy('transaction_id')
    .orderBy('leg')
    .orderBy('lot_id')
    .execute();
  const balances = [];
  for (const id of accounts) balances.push((await getAccount(deps, t, id)).balance);
  return {
    txs: txs.map((x) => ({ ...x, rejection: x.rejection && anonymize(JSON.stringify(x.rejection), accounts) })),
    postings: postings.map((p) => ({ ...p, account_id: at(p.account_id) })),
    lots: lots.map((l) => ({ ...l, account_id: at(l.account_id) })),
    allocations: allocations.map((l) => ({ ...l, account_id: at(l.account_id) })),
    balances,
  };
}

const leg = fc.record({
  d: fc.nat({ max: 7 }),
  c: fc.nat({ max: 7 }),
  a: fc.integer({ min: 1, max: 60 }),
  stamp: fc.boolean(),
  expiresInDays: fc.option(fc.nat({ max: 3 })),
});
const transfer = fc.record({ legs: fc.array(leg, { minLength: 1, maxLength: 2 }), replay: fc.nat({ max: 29 }) });

test('property: set-based batches write exactly what one-by-one posting writes, or nothing', async () => {
  let setBased = 0;
  let fellBack = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(transfer, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
      async (batches) => {
        const a = await books();
        const b = await books();
        const ids: string[] = [];
        for (const batch of batches) {
          const items = (books: { t: string; accounts: string[] }): BatchItem[] =>
            batch.map((tx, i) => {
              // Now and then an id used before: a replay (same content) or a conflict (other content).
              const id = tx.replay === 0 && ids.length > 0 ? ids[i % ids.length]! : `tx-${ids.length + i}`;
              return {
                t: books.t,
                id,
                h: JSON.stringify(tx.legs),
                k: 'post',
                code: 'GIFT',
                ref: null,
                memo: null,
                at: AT,
                // Seldom a leg that names the stamp account or the other ledger (rejected: LEDGER_MISMATCH).
                legs: tx.legs
                  .map((l) => (l.stamp && l.a === 1 ? { ...l, l: 'STAMP:card_1' } : { ...l, d: l.d % 7, c: l.c % 7, l: 'POINT' }))
                  .filter((l) => l.d !== l.c)
                  .map((l) => ({
                    d: books.accounts[l.d]!,
                    c: books.accounts[l.c]!,
                    a: l.a,
                    l: l.l,
                    ...(l.expiresInDays === null
                      ? {}
                      : { x: new Date(Date.parse(AT) + l.expiresInDays * 86_400_000).toISOString() }),
                  })),
              };
            });
          const ia = items(a).filter((x) => x.legs!.length > 0);
          const ib = items(b).filter((x) => x.legs!.length > 0);
          if (ia.length === 0) continue;
          const ra = await withTransaction(deps.db, async (trx) => {
            const r = await call(trx, 'ledger_post_transfers', ia);
            if (r) setBased++;
            else fellBack++;
            return r ?? (await call(trx, 'ledger_post_each', ia));
          });
          const rb = await withTransaction(deps.db, (trx) => call(trx, 'ledger_post_each', ib));
          assert.equal(anonymize(JSON.stringify(ra), a.accounts), anonymize(JSON.stringify(rb), b.accounts));
          ids.push(...ia.map((x) => x.id));
        }
        assert.deepEqual(await rows(a.t, a.accounts), await rows(b.t, b.accounts));
      },
    ),
    { numRuns: 40 },
  );
  assert.ok(setBased > 0 && fellBack > 0, `both paths were taken (set-based ${setBased}, one by one ${fellBack})`);
});

test('a replayed id makes the set-based path write nothing: the claims of the rest are taken back', async () => {
  const { t, accounts } = await books();
  const [w0, , , , , issuance] = accounts;
  const item = (id: string): BatchItem => ({
    t,
    id,
    h: 'h',
    k: 'post',
    code: 'EARN',
    ref: null,
    memo: null,
    at: new Date().toISOString(),
    legs: [{ d: issuance!, c: w0!, a: 10, l: 'POINT' }],
  });
  const first = `a-${randomBytes(4).toString('hex')}`;
  assert.ok(await withTransaction(deps.db, (trx) => call(trx, 'ledger_post_transfers', [item(first)])));
  const fresh = `b-${randomBytes(4).toString('hex')}`;
  assert.equal(await withTransaction(deps.db, (trx) => call(trx, 'ledger_post_transfers', [item(fresh), item(first)])), null);
  const left = await deps.db
    .selectFrom('ledger_transaction')
    .select('id')
    .where('tenant_id', '=', t)
    .where('id', '=', fresh)
    .execute();
  assert.deepEqual(left, [], 'the fresh id was not kept');
  assert.equal((await getAccount(deps, t, w0!)).balance.posted, 310);
});
