import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { newTenant, testDeps } from '../../../test/helpers.ts';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import {
  accountHistory,
  balanceAsOf,
  getAccount,
  openAccount,
  type PostResult,
  type PostTransaction,
  post,
  postInTransaction,
  rollupDeferred,
  systemAccount,
  trialBalance,
} from './index.ts';

let deps: Deps;
before(async () => {
  deps = await testDeps();
});

const uid = () => randomBytes(8).toString('hex');

async function setup(ledger = 'POINT') {
  const { tenant } = await newTenant(deps);
  const t = tenant.id;
  const wallet = (owner: string) =>
    openAccount(deps, t, { ledger, ownerType: 'member', ownerId: owner, kind: 'wallet', debitsMustNotExceedCredits: true });
  const issuance = await systemAccount(deps, t, ledger, 'issuance');
  const revenue = await systemAccount(deps, t, ledger, 'revenue');
  return { t, ledger, wallet, issuance, revenue };
}

const transfer = (
  t: string,
  id: string,
  code: string,
  debit: string,
  credit: string,
  amount: number,
  ledger = 'POINT',
): PostTransaction => ({
  tenantId: t,
  id,
  code,
  legs: [{ debit, credit, amount, ledger }],
});

const posted = (r: PostResult) => {
  assert.equal(r.status, 'posted', JSON.stringify(r));
  return r as PostResult & { status: 'posted' };
};

test('earn then spend: balances, resulting balances, and a trial balance of zero before and after rollup', async () => {
  const { t, wallet, issuance, revenue } = await setup();
  const member = await wallet('mem_1');
  const earn = posted(
    await post(deps, {
      ...transfer(t, `earn-${uid()}`, 'EARN', issuance.id, member.id, 1000),
      reference: 'order-1',
      memo: '1% of 100,000',
    }),
  );
  assert.deepEqual(
    earn.balances,
    [{ debit: null, credit: 1000 }],
    'the deferred issuance side has no resulting balance on the request path',
  );
  posted(await post(deps, transfer(t, `use-${uid()}`, 'USE', member.id, revenue.id, 300)));

  assert.equal((await getAccount(deps, t, member.id)).balance.posted, 700);
  assert.equal((await getAccount(deps, t, issuance.id)).balance.posted, -1000);
  assert.equal((await getAccount(deps, t, revenue.id)).balance.posted, 300);
  assert.deepEqual(await trialBalance(deps, t), [{ ledger: 'POINT', accounts: 3, total: 0 }]);

  await rollupDeferred(deps);
  assert.equal(
    (await getAccount(deps, t, issuance.id)).balance.posted,
    -1000,
    'rollup changes where the number lives, not the number',
  );
  assert.deepEqual(await trialBalance(deps, t), [{ ledger: 'POINT', accounts: 3, total: 0 }]);
  const remaining = await deps.db.selectFrom('ledger_delta').select('id').where('tenant_id', '=', t).execute();
  assert.equal(remaining.length, 0);
});

test('a rejection is the stored outcome of its id: the retry gets it even after the balance grew', async () => {
  const { t, wallet, issuance, revenue } = await setup();
  const member = await wallet('mem_2');
  posted(await post(deps, transfer(t, `earn-${uid()}`, 'EARN', issuance.id, member.id, 100)));
  const useId = `use-${uid()}`;
  const rejected = await post(deps, transfer(t, useId, 'USE', member.id, revenue.id, 150));
  assert.equal(rejected.status, 'rejected');
  assert.deepEqual(rejected.status === 'rejected' && rejected.rejection, {
    code: 'INSUFFICIENT_BALANCE',
    leg: 0,
    accountId: member.id,
    amount: 150,
    available: 100,
  });

  posted(await post(deps, transfer(t, `earn-${uid()}`, 'EARN', issuance.id, member.id, 100)));
  const retry = await post(deps, transfer(t, useId, 'USE', member.id, revenue.id, 150));
  assert.equal(retry.status, 'rejected');
  assert.equal(retry.replayed, true);
  assert.equal((await getAccount(deps, t, member.id)).balance.posted, 200, 'the retry did not spend');

  await assert.rejects(post(deps, transfer(t, useId, 'USE', member.id, revenue.id, 50)), { code: 'TRANSACTION_ID_CONFLICT' });
  await assert.rejects(post(deps, { ...transfer(t, useId, 'USE', member.id, revenue.id, 150), memo: 'other' }), {
    code: 'TRANSACTION_ID_CONFLICT',
  });
});

test('a posted id replays its outcome; ids are scoped per tenant', async () => {
  const a = await setup();
  const b = await setup();
  const ma = await a.wallet('m');
  const mb = await b.wallet('m');
  const id = `shared-${uid()}`;
  const first = posted(await post(deps, transfer(a.t, id, 'EARN', a.issuance.id, ma.id, 10)));
  const again = posted(await post(deps, transfer(a.t, id, 'EARN', a.issuance.id, ma.id, 10)));
  assert.equal(first.replayed, false);
  assert.equal(again.replayed, true);
  posted(await post(deps, transfer(b.t, id, 'EARN', b.issuance.id, mb.id, 10)));
  assert.equal((await getAccount(deps, a.t, ma.id)).balance.posted, 10);
  assert.equal((await getAccount(deps, b.t, mb.id)).balance.posted, 10);
});

test('a multi-leg transaction applies all legs or none', async () => {
  const { t, wallet, issuance, revenue } = await setup();
  const m1 = await wallet('m1');
  const m2 = await wallet('m2');
  posted(await post(deps, transfer(t, `seed-${uid()}`, 'EARN', issuance.id, m2.id, 50)));
  const gift = await post(deps, {
    tenantId: t,
    id: `multi-${uid()}`,
    code: 'CHECKOUT',
    legs: [
      { debit: issuance.id, credit: m1.id, amount: 500, ledger: 'POINT' },
      { debit: m1.id, credit: revenue.id, amount: 200, ledger: 'POINT' },
      { debit: m2.id, credit: revenue.id, amount: 80, ledger: 'POINT' },
    ],
  });
  assert.equal(gift.status, 'rejected');
  assert.equal(gift.status === 'rejected' && gift.rejection.leg, 2);
  assert.equal((await getAccount(deps, t, m1.id)).balance.posted, 0, 'the first two legs were undone');
  assert.equal((await getAccount(deps, t, m2.id)).balance.posted, 50);
  assert.equal((await getAccount(deps, t, revenue.id)).balance.posted, 0);
  assert.deepEqual(await trialBalance(deps, t), [{ ledger: 'POINT', accounts: 4, total: 0 }]);

  // The legs of one transaction see each other: earn 500 then spend 200 of it.
  const ok = posted(
    await post(deps, {
      tenantId: t,
      id: `multi-${uid()}`,
      code: 'CHECKOUT',
      legs: [
        { debit: issuance.id, credit: m1.id, amount: 500, ledger: 'POINT' },
        { debit: m1.id, credit: revenue.id, amount: 200, ledger: 'POINT' },
      ],
    }),
  );
  assert.deepEqual(ok.balances, [
    { debit: null, credit: 500 },
    { debit: 300, credit: null },
  ]);
});

test('rejections name the rule: unknown account, other ledger, inactive account, malformed input', async () => {
  const { t, wallet, issuance } = await setup();
  const member = await wallet('m');
  const stamp = await openAccount(deps, t, { ledger: 'STAMP:card_1', ownerType: 'member', ownerId: 'm', kind: 'wallet' });
  const missing = await post(deps, transfer(t, uid(), 'EARN', issuance.id, 'acc_00000000000000000000000000', 5));
  assert.equal(missing.status === 'rejected' && missing.rejection.code, 'ACCOUNT_NOT_FOUND');
  const mismatch = await post(deps, transfer(t, uid(), 'EARN', issuance.id, stamp.id, 5));
  assert.deepEqual(mismatch.status === 'rejected' && mismatch.rejection, {
    code: 'LEDGER_MISMATCH',
    leg: 0,
    accountId: stamp.id,
    accountLedger: 'STAMP:card_1',
    ledger: 'POINT',
  });
  await deps.db
    .updateTable('ledger_account')
    .set({ status: 'frozen' })
    .where('tenant_id', '=', t)
    .where('id', '=', member.id)
    .execute();
  const frozen = await post(deps, transfer(t, uid(), 'EARN', issuance.id, member.id, 5));
  assert.equal(frozen.status === 'rejected' && frozen.rejection.code, 'ACCOUNT_NOT_ACTIVE');

  await assert.rejects(post(deps, transfer(t, uid(), 'EARN', issuance.id, member.id, 0)), { code: 'VALIDATION_FAILED' });
  await assert.rejects(post(deps, transfer(t, uid(), 'EARN', issuance.id, member.id, 1.5)), { code: 'VALIDATION_FAILED' });
  await assert.rejects(post(deps, transfer(t, uid(), 'EARN', member.id, member.id, 1)), { code: 'VALIDATION_FAILED' });
  await assert.rejects(post(deps, transfer(t, 'bad id!', 'EARN', issuance.id, member.id, 1)), { code: 'VALIDATION_FAILED' });
  const stored = await deps.db
    .selectFrom('ledger_transaction')
    .select('id')
    .where('tenant_id', '=', t)
    .where('id', '=', 'bad id!')
    .execute();
  assert.equal(stored.length, 0, 'malformed input is not stored');
});

test('200 concurrent debits of 1 from an account holding 100: exactly 100 succeed (group commit and single transactions)', async () => {
  for (const mode of ['group', 'single'] as const) {
    const { t, wallet, issuance, revenue } = await setup();
    const member = await wallet(`m-${mode}`);
    posted(await post(deps, transfer(t, `seed-${uid()}`, 'EARN', issuance.id, member.id, 100)));
    const attempts = Array.from({ length: 200 }, (_, i) => transfer(t, `use-${mode}-${i}`, 'USE', member.id, revenue.id, 1));
    const results = await Promise.all(
      attempts.map((tx) => (mode === 'group' ? post(deps, tx) : withTransaction(deps.db, (trx) => postInTransaction(trx, tx)))),
    );
    assert.equal(results.filter((r) => r.status === 'posted').length, 100, mode);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 100, mode);
    const account = await getAccount(deps, t, member.id);
    assert.equal(account.balance.posted, 0, mode);
    assert.equal((await getAccount(deps, t, revenue.id)).balance.posted, 100, mode);
  }
});

test('the same transaction id posted 50 times at once has one effect', async () => {
  const { t, wallet, issuance } = await setup();
  const member = await wallet('m');
  const tx = transfer(t, `once-${uid()}`, 'EARN', issuance.id, member.id, 7);
  const results = await Promise.all(Array.from({ length: 50 }, () => post(deps, tx)));
  assert.ok(results.every((r) => r.status === 'posted'));
  assert.equal(results.filter((r) => !r.replayed).length, 1);
  assert.equal((await getAccount(deps, t, member.id)).balance.posted, 7);
  const rows = await Promise.all(Array.from({ length: 10 }, () => withTransaction(deps.db, (trx) => postInTransaction(trx, tx))));
  assert.ok(rows.every((r) => r.replayed));
  assert.equal((await getAccount(deps, t, member.id)).balance.posted, 7);
});

test('history: newest first, with the reason and the resulting balance, paged by cursor; balance as of a past time', async () => {
  const { t, wallet, issuance, revenue } = await setup();
  const member = await wallet('m');
  posted(
    await post(deps, { ...transfer(t, 'h1', 'EARN', issuance.id, member.id, 100), reference: 'order-1', memo: 'first order' }),
  );
  const middle = new Date();
  await new Promise((r) => setTimeout(r, 20));
  posted(await post(deps, { ...transfer(t, 'h2', 'USE', member.id, revenue.id, 30), reference: 'order-2' }));
  posted(await post(deps, transfer(t, 'h3', 'EARN', issuance.id, member.id, 5)));

  const page1 = await accountHistory(deps, t, member.id, { limit: 2 });
  assert.deepEqual(
    page1.items.map((e) => [e.transactionId, e.code, e.amount, e.balanceAfter]),
    [
      ['h3', 'EARN', 5, 75],
      ['h2', 'USE', -30, 70],
    ],
  );
  assert.equal(page1.items[1]!.reference, 'order-2');
  assert.ok(page1.nextCursor);
  const page2 = await accountHistory(deps, t, member.id, { limit: 2, cursor: page1.nextCursor! });
  assert.deepEqual(
    page2.items.map((e) => [e.transactionId, e.memo, e.balanceAfter]),
    [['h1', 'first order', 100]],
  );
  assert.equal(page2.nextCursor, null);

  assert.equal(await balanceAsOf(deps, t, member.id, middle), 100);
  assert.equal(await balanceAsOf(deps, t, member.id, new Date()), 75);
  assert.equal(await balanceAsOf(deps, t, issuance.id, new Date()), -105);
});

type ModelAccount = { id: string; constrained: boolean };

test('property: random postings match a simple model; every ledger sums to zero; no wallet goes negative', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          legs: fc.array(fc.record({ from: fc.nat(4), to: fc.nat(4), amount: fc.integer({ min: 1, max: 60 }) }), {
            minLength: 1,
            maxLength: 3,
          }),
          retry: fc.boolean(),
        }),
        { minLength: 1, maxLength: 25 },
      ),
      fc.boolean(),
      async (ops, concurrent) => {
        const { t, wallet, issuance, revenue } = await setup();
        const accounts: ModelAccount[] = [
          { id: issuance.id, constrained: false },
          { id: revenue.id, constrained: false },
          { id: (await wallet('a')).id, constrained: true },
          { id: (await wallet('b')).id, constrained: true },
          { id: (await wallet('c')).id, constrained: true },
        ];
        const model = new Map(accounts.map((a) => [a.id, 0]));
        const txs: PostTransaction[] = [];
        for (const [i, op] of ops.entries()) {
          const legs = op.legs
            .filter((l) => l.from !== l.to)
            .map((l) => ({ debit: accounts[l.from]!.id, credit: accounts[l.to]!.id, amount: l.amount, ledger: 'POINT' }));
          if (legs.length === 0) continue;
          const tx: PostTransaction = { tenantId: t, id: `p${i}`, code: 'TEST', legs };
          txs.push(tx);
          if (op.retry) txs.push(tx);
        }
        // Expected outcomes in submission order (group commit keeps that order).
        const expected: string[] = [];
        const seen = new Map<string, string>();
        for (const tx of txs) {
          if (seen.has(tx.id)) {
            expected.push(seen.get(tx.id)!);
            continue;
          }
          const next = new Map(model);
          let ok = true;
          for (const leg of tx.legs) {
            next.set(leg.debit, next.get(leg.debit)! - leg.amount);
            next.set(leg.credit, next.get(leg.credit)! + leg.amount);
            if (accounts.find((a) => a.id === leg.debit)!.constrained && next.get(leg.debit)! < 0) ok = false;
            if (!ok) break;
          }
          if (ok) for (const [k, v] of next) model.set(k, v);
          seen.set(tx.id, ok ? 'posted' : 'rejected');
          expected.push(ok ? 'posted' : 'rejected');
        }
        const results = concurrent
          ? await Promise.all(txs.map((tx) => post(deps, tx)))
          : await txs.reduce<Promise<PostResult[]>>(
              async (acc, tx) => [...(await acc), await post(deps, tx)],
              Promise.resolve([]),
            );
        assert.deepEqual(
          results.map((r) => r.status),
          expected,
        );
        for (const a of accounts) {
          const balance = (await getAccount(deps, t, a.id)).balance.posted;
          assert.equal(balance, model.get(a.id), a.id);
          if (a.constrained) assert.ok(balance >= 0);
          const entries = await accountHistory(deps, t, a.id, { limit: 200 });
          assert.equal(
            entries.items.reduce((s, e) => s + e.amount, 0),
            balance,
            'history adds up to the balance',
          );
        }
        const tb = await trialBalance(deps, t);
        assert.ok(tb.every((l) => l.total === 0));
      },
    ),
    { numRuns: 25 },
  );
});
