import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { newTenant, testDeps } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import {
  accountHistory,
  captureHold,
  expireHolds,
  getAccount,
  hold,
  openAccount,
  type PostResult,
  post,
  reverse,
  rollupDeferred,
  systemAccount,
  trialBalance,
  voidHold,
} from './index.ts';

let deps: Deps;
before(async () => {
  deps = await testDeps();
});

const uid = () => randomBytes(8).toString('hex');

async function setup() {
  const { tenant } = await newTenant(deps);
  const t = tenant.id;
  const issuance = await systemAccount(deps, t, 'PREPAID', 'issuance');
  const revenue = await systemAccount(deps, t, 'PREPAID', 'revenue');
  const wallet = (owner: string) =>
    openAccount(deps, t, {
      ledger: 'PREPAID',
      ownerType: 'member',
      ownerId: owner,
      kind: 'wallet',
      debitsMustNotExceedCredits: true,
    });
  const fund = async (accountId: string, amount: number) =>
    expectStatus(
      await post(deps, { tenantId: t, id: `fund-${uid()}`, code: 'CHARGE', legs: [leg(issuance.id, accountId, amount)] }),
      'posted',
    );
  return { t, issuance, revenue, wallet, fund };
}

const leg = (debit: string, credit: string, amount: number) => ({ debit, credit, amount, ledger: 'PREPAID' });

function expectStatus(r: PostResult, status: PostResult['status'], code?: string) {
  assert.equal(r.status, status, JSON.stringify(r));
  if (code) assert.equal(r.status === 'rejected' && r.rejection.code, code);
  return r;
}

const balance = async (t: string, id: string) => (await getAccount(deps, t, id)).balance;

test('a hold reserves: available drops, posted does not; a partial capture posts part and releases the rest', async () => {
  const { t, revenue, wallet, fund } = await setup();
  const m = await wallet('m');
  await fund(m.id, 100);
  const holdId = `hold-${uid()}`;
  expectStatus(
    await hold(deps, { tenantId: t, id: holdId, code: 'AUTHORIZE', legs: [leg(m.id, revenue.id, 60)], timeoutSeconds: 600 }),
    'pending',
  );
  assert.deepEqual(
    {
      posted: (await balance(t, m.id)).posted,
      available: (await balance(t, m.id)).available,
      pending: (await balance(t, m.id)).pending,
    },
    { posted: 100, available: 40, pending: -60 },
  );
  const spend = await post(deps, { tenantId: t, id: uid(), code: 'USE', legs: [leg(m.id, revenue.id, 50)] });
  expectStatus(spend, 'rejected', 'INSUFFICIENT_BALANCE');
  assert.equal(spend.status === 'rejected' && spend.rejection.available, 40, 'held value cannot be spent twice');

  const capture = expectStatus(await captureHold(deps, { tenantId: t, id: `cap-${uid()}`, holdId, amounts: [45] }), 'posted');
  assert.deepEqual(capture.status === 'posted' && capture.balances, [{ debit: 55, credit: null }]);
  const after = await balance(t, m.id);
  assert.deepEqual([after.posted, after.available, after.pending], [55, 55, 0]);
  assert.equal((await balance(t, revenue.id)).posted, 45);
  assert.equal((await balance(t, revenue.id)).pending, 0, 'the deferred side released its pending credit too');

  expectStatus(await captureHold(deps, { tenantId: t, id: `cap-${uid()}`, holdId }), 'rejected', 'HOLD_NOT_PENDING');
  expectStatus(await voidHold(deps, { tenantId: t, id: `void-${uid()}`, holdId }), 'rejected', 'HOLD_NOT_PENDING');
  expectStatus(
    await captureHold(deps, { tenantId: t, id: `cap-${uid()}`, holdId: 'no-such-hold' }),
    'rejected',
    'HOLD_NOT_FOUND',
  );

  const history = await accountHistory(deps, t, m.id, { limit: 10 });
  assert.deepEqual(
    history.items.map((e) => [e.code, e.amount, e.pending]),
    [
      ['CAPTURE', -45, false],
      ['AUTHORIZE', -60, true],
      ['CHARGE', 100, false],
    ],
  );
  await rollupDeferred(deps);
  assert.ok((await trialBalance(deps, t)).every((l) => l.total === 0));
});

test('a void releases everything; a capture above the hold is refused and changes nothing', async () => {
  const { t, revenue, wallet, fund } = await setup();
  const m = await wallet('m');
  await fund(m.id, 30);
  const holdId = `hold-${uid()}`;
  expectStatus(
    await hold(deps, { tenantId: t, id: holdId, code: 'AUTHORIZE', legs: [leg(m.id, revenue.id, 30)], timeoutSeconds: 60 }),
    'pending',
  );
  expectStatus(await captureHold(deps, { tenantId: t, id: uid(), holdId, amounts: [31] }), 'rejected', 'CAPTURE_EXCEEDS_HOLD');
  assert.equal((await balance(t, m.id)).available, 0);
  expectStatus(await voidHold(deps, { tenantId: t, id: uid(), holdId }), 'posted');
  const b = await balance(t, m.id);
  assert.deepEqual([b.posted, b.available, b.pending], [30, 30, 0]);
  assert.equal((await balance(t, revenue.id)).pending, 0);
});

test('concurrent captures and voids of one hold: exactly one resolves it', async () => {
  const { t, revenue, wallet, fund } = await setup();
  const m = await wallet('m');
  await fund(m.id, 100);
  const holdId = `hold-${uid()}`;
  expectStatus(
    await hold(deps, { tenantId: t, id: holdId, code: 'AUTHORIZE', legs: [leg(m.id, revenue.id, 100)], timeoutSeconds: 60 }),
    'pending',
  );
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? captureHold : voidHold)(deps, { tenantId: t, id: `resolve-${i}-${uid()}`, holdId }),
    ),
  );
  assert.equal(results.filter((r) => r.status === 'posted').length, 1);
  assert.ok(
    results
      .filter((r) => r.status === 'rejected')
      .every((r) => r.status === 'rejected' && r.rejection.code === 'HOLD_NOT_PENDING'),
  );
  const b = await balance(t, m.id);
  assert.ok((b.posted === 0 && b.available === 0) || (b.posted === 100 && b.available === 100));
  assert.equal(b.pending, 0);
});

test('an expired hold cannot be captured and is released once by the expiry job', async () => {
  const { t, revenue, wallet, fund } = await setup();
  const m = await wallet('m');
  await fund(m.id, 50);
  const holdId = `hold-${uid()}`;
  expectStatus(
    await hold(deps, { tenantId: t, id: holdId, code: 'AUTHORIZE', legs: [leg(m.id, revenue.id, 20)], timeoutSeconds: 60 }),
    'pending',
  );
  await deps.db
    .updateTable('ledger_transaction')
    .set({ timeout_at: sql<Date>`now() - interval '1 second'` })
    .where('tenant_id', '=', t)
    .where('id', '=', holdId)
    .execute();
  expectStatus(await captureHold(deps, { tenantId: t, id: uid(), holdId }), 'rejected', 'HOLD_EXPIRED');
  assert.equal((await balance(t, m.id)).available, 30, 'still reserved until released');

  const [a, b] = await Promise.all([expireHolds(deps, { tenantId: t }), expireHolds(deps, { tenantId: t })]);
  assert.ok(a + b >= 1);
  assert.equal((await balance(t, m.id)).available, 50);
  const row = await deps.db
    .selectFrom('ledger_transaction')
    .select('status')
    .where('tenant_id', '=', t)
    .where('id', '=', holdId)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, 'expired');
  assert.equal(await expireHolds(deps, { tenantId: t }), 0, 'a second run releases nothing more');
  assert.equal((await balance(t, m.id)).available, 50);
});

test('reversals: partial and full, never more than the original, and constraints still apply', async () => {
  const { t, issuance, revenue, wallet } = await setup();
  const m = await wallet('m');
  const earn = `earn-${uid()}`;
  expectStatus(await post(deps, { tenantId: t, id: earn, code: 'EARN', legs: [leg(issuance.id, m.id, 100)] }), 'posted');
  expectStatus(await reverse(deps, { tenantId: t, id: uid(), transactionId: earn, amounts: [30] }), 'posted');
  assert.equal((await balance(t, m.id)).posted, 70);
  const tooMuch = await reverse(deps, { tenantId: t, id: uid(), transactionId: earn, amounts: [80] });
  expectStatus(tooMuch, 'rejected', 'REVERSAL_EXCEEDS_ORIGINAL');
  assert.deepEqual(tooMuch.status === 'rejected' && [tooMuch.rejection.original, tooMuch.rejection.reversed], [100, 30]);

  // The member spends 50; reversing the remaining 70 would take the wallet below zero.
  expectStatus(await post(deps, { tenantId: t, id: uid(), code: 'USE', legs: [leg(m.id, revenue.id, 50)] }), 'posted');
  expectStatus(await reverse(deps, { tenantId: t, id: uid(), transactionId: earn }), 'rejected', 'INSUFFICIENT_BALANCE');
  expectStatus(await reverse(deps, { tenantId: t, id: uid(), transactionId: earn, amounts: [20] }), 'posted');
  assert.equal((await balance(t, m.id)).posted, 0);

  const spend = `use-${uid()}`;
  await post(deps, { tenantId: t, id: `earn-${uid()}`, code: 'EARN', legs: [leg(issuance.id, m.id, 10)] });
  expectStatus(await post(deps, { tenantId: t, id: spend, code: 'USE', legs: [leg(m.id, revenue.id, 10)] }), 'posted');
  expectStatus(await reverse(deps, { tenantId: t, id: uid(), transactionId: spend }), 'posted');
  expectStatus(await reverse(deps, { tenantId: t, id: uid(), transactionId: spend }), 'rejected', 'NOTHING_TO_REVERSE');
  assert.equal((await balance(t, m.id)).posted, 10);
  expectStatus(await reverse(deps, { tenantId: t, id: uid(), transactionId: 'nope' }), 'rejected', 'TRANSACTION_NOT_FOUND');
});

test('concurrent partial reversals never add up to more than the original', async () => {
  const { t, issuance, wallet } = await setup();
  const m = await wallet('m');
  const earn = `earn-${uid()}`;
  await post(deps, { tenantId: t, id: earn, code: 'EARN', legs: [leg(issuance.id, m.id, 100)] });
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      reverse(deps, { tenantId: t, id: `rev-${i}-${uid()}`, transactionId: earn, amounts: [20] }),
    ),
  );
  assert.equal(results.filter((r) => r.status === 'posted').length, 5);
  assert.equal((await balance(t, m.id)).posted, 0);
});

// A model of posted and pending balances for random operations of every kind.
type Op =
  | { k: 'post'; from: number; to: number; amount: number }
  | { k: 'hold'; from: number; to: number; amount: number }
  | { k: 'capture'; of: number; amount: number }
  | { k: 'void'; of: number }
  | { k: 'reverse'; of: number; amount: number };

test('property: posts, holds, captures, voids and reversals match a model; ledgers sum to zero; wallets never go negative', async () => {
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('post' as const), from: fc.nat(3), to: fc.nat(3), amount: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ k: fc.constant('hold' as const), from: fc.nat(3), to: fc.nat(3), amount: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ k: fc.constant('capture' as const), of: fc.nat(30), amount: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ k: fc.constant('void' as const), of: fc.nat(30) }),
    fc.record({ k: fc.constant('reverse' as const), of: fc.nat(30), amount: fc.integer({ min: 0, max: 50 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 30 }), async (ops) => {
      const { t, issuance, revenue, wallet, fund } = await setup();
      const accounts = [issuance.id, revenue.id, (await wallet('a')).id, (await wallet('b')).id];
      const constrained = new Set(accounts.slice(2));
      await fund(accounts[2]!, 100);
      await fund(accounts[3]!, 100);
      const posted = new Map(accounts.map((a) => [a, 0]));
      const debitsPending = new Map(accounts.map((a) => [a, 0]));
      posted.set(issuance.id, -200);
      posted.set(accounts[2]!, 100);
      posted.set(accounts[3]!, 100);
      const txs: {
        id: string;
        kind: 'post' | 'hold';
        debit: string;
        credit: string;
        amount: number;
        state: string;
        reversed: number;
      }[] = [];
      const available = (a: string) => posted.get(a)! - debitsPending.get(a)!;

      for (const [i, op] of ops.entries()) {
        const id = `op${i}`;
        if (op.k === 'post' || op.k === 'hold') {
          const debit = accounts[op.from]!;
          const credit = accounts[op.to]!;
          if (debit === credit) continue;
          const result = await (op.k === 'post'
            ? post(deps, { tenantId: t, id, code: 'TEST', legs: [leg(debit, credit, op.amount)] })
            : hold(deps, { tenantId: t, id, code: 'TEST', legs: [leg(debit, credit, op.amount)], timeoutSeconds: 600 }));
          const ok = !constrained.has(debit) || available(debit) >= op.amount;
          assert.equal(result.status, ok ? (op.k === 'post' ? 'posted' : 'pending') : 'rejected');
          if (!ok) continue;
          if (op.k === 'post') {
            posted.set(debit, posted.get(debit)! - op.amount);
            posted.set(credit, posted.get(credit)! + op.amount);
          } else {
            debitsPending.set(debit, debitsPending.get(debit)! + op.amount);
          }
          txs.push({
            id,
            kind: op.k,
            debit,
            credit,
            amount: op.amount,
            state: op.k === 'hold' ? 'pending' : 'posted',
            reversed: 0,
          });
        } else {
          const target = txs[op.of % Math.max(1, txs.length)];
          if (!target) continue;
          if (op.k === 'capture' || op.k === 'void') {
            const amount = op.k === 'void' ? 0 : op.amount;
            const result = await (op.k === 'capture'
              ? captureHold(deps, { tenantId: t, id, holdId: target.id, amounts: [amount] })
              : voidHold(deps, { tenantId: t, id, holdId: target.id }));
            const ok = target.kind === 'hold' && target.state === 'pending' && amount <= target.amount;
            assert.equal(result.status, ok ? 'posted' : 'rejected', JSON.stringify({ op, target, result }));
            if (!ok) continue;
            debitsPending.set(target.debit, debitsPending.get(target.debit)! - target.amount);
            posted.set(target.debit, posted.get(target.debit)! - amount);
            posted.set(target.credit, posted.get(target.credit)! + amount);
            target.state = op.k === 'capture' ? 'captured' : 'voided';
            if (amount > 0)
              txs.push({ id, kind: 'post', debit: target.debit, credit: target.credit, amount, state: 'posted', reversed: 0 });
          } else {
            const result = await reverse(deps, { tenantId: t, id, transactionId: target.id, amounts: [op.amount] });
            const left = target.amount - target.reversed;
            const ok =
              target.kind === 'post' &&
              op.amount <= left &&
              op.amount > 0 &&
              (!constrained.has(target.credit) || available(target.credit) >= op.amount);
            assert.equal(result.status, ok ? 'posted' : 'rejected', JSON.stringify({ op, target, result }));
            if (!ok) continue;
            target.reversed += op.amount;
            posted.set(target.credit, posted.get(target.credit)! - op.amount);
            posted.set(target.debit, posted.get(target.debit)! + op.amount);
          }
        }
      }
      for (const a of accounts) {
        const b = await balance(t, a);
        assert.equal(b.posted, posted.get(a), `posted ${a}`);
        assert.equal(b.available, available(a), `available ${a}`);
        if (constrained.has(a)) assert.ok(b.available >= 0);
        const history = await accountHistory(deps, t, a, { limit: 200 });
        assert.equal(
          history.items.filter((e) => !e.pending).reduce((s, e) => s + e.amount, 0),
          b.posted,
          'posted history adds up',
        );
      }
      await rollupDeferred(deps);
      assert.ok((await trialBalance(deps, t)).every((l) => l.total === 0));
    }),
    { numRuns: 20 },
  );
});
