import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { newTenant, testDeps } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import {
  accountHistory,
  accountLots,
  captureHold,
  expireLots,
  expiringWithin,
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
const DAY = 86_400_000;
const inDays = (n: number) => new Date(Date.now() + n * DAY);

async function setup() {
  const { tenant } = await newTenant(deps);
  const t = tenant.id;
  const issuance = await systemAccount(deps, t, 'POINT', 'issuance');
  const revenue = await systemAccount(deps, t, 'POINT', 'revenue');
  const wallet = (owner: string) =>
    openAccount(deps, t, {
      ledger: 'POINT',
      ownerType: 'member',
      ownerId: owner,
      kind: 'wallet',
      debitsMustNotExceedCredits: true,
      hasLots: true,
    });
  const earn = async (accountId: string, amount: number, expiresAt: Date | undefined, id = `earn-${uid()}`) => {
    ok(
      await post(deps, {
        tenantId: t,
        id,
        code: 'EARN',
        legs: [{ debit: issuance.id, credit: accountId, amount, ledger: 'POINT', expiresAt }],
      }),
    );
    return id;
  };
  const use = async (accountId: string, amount: number, id = `use-${uid()}`) => {
    ok(
      await post(deps, {
        tenantId: t,
        id,
        code: 'USE',
        legs: [{ debit: accountId, credit: revenue.id, amount, ledger: 'POINT' }],
      }),
    );
    return id;
  };
  return { t, issuance, revenue, wallet, earn, use };
}

function ok(r: PostResult) {
  assert.notEqual(r.status, 'rejected', JSON.stringify(r));
  return r;
}

/** Remaining of each open lot, first-expiring first, keyed by the earn that made it. */
async function remaining(t: string, accountId: string) {
  return Object.fromEntries((await accountLots(deps, t, accountId)).map((l) => [l.transactionId, l.remaining]));
}

/** The invariant: what the lots hold is exactly what the account can spend. */
async function assertLotsMatchBalance(t: string, accountId: string) {
  const lots = await accountLots(deps, t, accountId);
  const available = (await getAccount(deps, t, accountId)).balance.available;
  assert.equal(
    lots.reduce((s, l) => s + l.remaining, 0),
    available,
    'sum of open lots = available balance',
  );
}

test('a debit draws lots first-expiring-first; lots without expiry come last', async () => {
  const { t, wallet, earn, use } = await setup();
  const m = await wallet('m');
  const late = await earn(m.id, 100, inDays(30));
  const early = await earn(m.id, 50, inDays(10));
  const never = await earn(m.id, 20, undefined);
  await use(m.id, 60);
  assert.deepEqual(await remaining(t, m.id), { [late]: 90, [never]: 20 });
  const all = await accountLots(deps, t, m.id, true);
  assert.deepEqual(
    all.map((l) => [l.transactionId, l.remaining]),
    [
      [early, 0],
      [late, 90],
      [never, 20],
    ],
  );
  await assertLotsMatchBalance(t, m.id);
});

test('reversing part of a use restores exactly the lots it drew from, latest-expiring first', async () => {
  const { t, wallet, earn, use } = await setup();
  const m = await wallet('m');
  const a = await earn(m.id, 50, inDays(10));
  const b = await earn(m.id, 100, inDays(30));
  const spend = await use(m.id, 60); // 50 from a, 10 from b
  ok(await reverse(deps, { tenantId: t, id: uid(), transactionId: spend, amounts: [30] }));
  // What a use of 30 would have left: 30 from a, nothing from b.
  assert.deepEqual(await remaining(t, m.id), { [a]: 20, [b]: 100 });
  ok(await reverse(deps, { tenantId: t, id: uid(), transactionId: spend }));
  assert.deepEqual(await remaining(t, m.id), { [a]: 50, [b]: 100 });
  await assertLotsMatchBalance(t, m.id);
});

test('cancelling an earn takes from its own lot first, then first-expiring from the others', async () => {
  const { t, wallet, earn, use } = await setup();
  const m = await wallet('m');
  const other = await earn(m.id, 40, inDays(50));
  const target = await earn(m.id, 30, inDays(5));
  await use(m.id, 20); // drawn from target (expires first)
  ok(await reverse(deps, { tenantId: t, id: uid(), transactionId: target })); // 30: 10 left in its lot, 20 more from `other`
  assert.deepEqual(await remaining(t, m.id), { [other]: 20 });
  await assertLotsMatchBalance(t, m.id);
});

test('a lot that had expired when restored is restored, then expired again: both in history', async () => {
  const { t, wallet, earn, use } = await setup();
  const m = await wallet('m');
  const lot = await earn(m.id, 40, inDays(3));
  const spend = await use(m.id, 40);
  await deps.db
    .updateTable('ledger_lot')
    .set({ expires_at: sql<Date>`now() - interval '1 day'` })
    .where('tenant_id', '=', t)
    .where('transaction_id', '=', lot)
    .execute();
  ok(await reverse(deps, { tenantId: t, id: `cancel-${uid()}`, transactionId: spend }));
  assert.deepEqual(await remaining(t, m.id), { [lot]: 40 }, 'restored into the same, expired lot');
  const run = await expireLots(deps, { tenantId: t });
  assert.ok(run.accounts >= 1);
  assert.deepEqual(await remaining(t, m.id), {});
  const history = (await accountHistory(deps, t, m.id, { limit: 10 })).items.map((e) => [e.code, e.amount]);
  assert.deepEqual(history.slice(0, 2), [
    ['EXPIRE', -40],
    ['REVERSAL', 40],
  ]);
  const breakage = await systemAccount(deps, t, 'POINT', 'breakage');
  assert.equal((await getAccount(deps, t, breakage.id)).balance.posted, 40);
});

test('holds draw lots at once; a partial capture gives back the rest latest-expiring first; a void gives back all', async () => {
  const { t, wallet, earn, revenue } = await setup();
  const m = await wallet('m');
  const a = await earn(m.id, 30, inDays(10));
  const b = await earn(m.id, 30, inDays(20));
  const holdId = `hold-${uid()}`;
  ok(
    await hold(deps, {
      tenantId: t,
      id: holdId,
      code: 'AUTHORIZE',
      legs: [{ debit: m.id, credit: revenue.id, amount: 50, ledger: 'POINT' }],
      timeoutSeconds: 60,
    }),
  );
  assert.deepEqual(await remaining(t, m.id), { [b]: 10 });
  await assertLotsMatchBalance(t, m.id);
  ok(await captureHold(deps, { tenantId: t, id: `cap-${uid()}`, holdId, amounts: [35] }));
  assert.deepEqual(await remaining(t, m.id), { [b]: 25 }, '15 released into the later lot');
  await assertLotsMatchBalance(t, m.id);

  const second = `hold-${uid()}`;
  ok(
    await hold(deps, {
      tenantId: t,
      id: second,
      code: 'AUTHORIZE',
      legs: [{ debit: m.id, credit: revenue.id, amount: 20, ledger: 'POINT' }],
      timeoutSeconds: 60,
    }),
  );
  ok(await voidHold(deps, { tenantId: t, id: uid(), holdId: second }));
  assert.deepEqual(await remaining(t, m.id), { [b]: 25 });
  assert.deepEqual(
    (await accountLots(deps, t, m.id, true)).map((l) => [l.transactionId, l.remaining]),
    [
      [a, 0],
      [b, 25],
    ],
  );
});

test('a rejected multi-leg transaction leaves the lots as they were', async () => {
  const { t, wallet, earn, issuance, revenue } = await setup();
  const m = await wallet('m');
  const n = await wallet('n');
  const a = await earn(m.id, 10, inDays(10));
  const result = await post(deps, {
    tenantId: t,
    id: uid(),
    code: 'CHECKOUT',
    legs: [
      { debit: m.id, credit: revenue.id, amount: 10, ledger: 'POINT' },
      { debit: issuance.id, credit: m.id, amount: 5, ledger: 'POINT', expiresAt: inDays(100) },
      { debit: n.id, credit: revenue.id, amount: 1, ledger: 'POINT' },
    ],
  });
  assert.equal(result.status === 'rejected' && result.rejection.code, 'INSUFFICIENT_BALANCE');
  assert.deepEqual(await remaining(t, m.id), { [a]: 10 });
  assert.equal((await accountLots(deps, t, m.id, true)).length, 1, 'the lot of the undone credit is gone');
  await assertLotsMatchBalance(t, m.id);
});

test('"expiring within N days" sums what will expire, per account', async () => {
  const { t, wallet, earn, use } = await setup();
  const m = await wallet('m');
  await earn(m.id, 10, inDays(5));
  await earn(m.id, 20, inDays(20));
  await earn(m.id, 40, inDays(45));
  await use(m.id, 4);
  const within30 = await expiringWithin(deps, t, 30, { accountId: m.id });
  assert.deepEqual(
    within30.map((r) => [r.accountId, r.amount]),
    [[m.id, 26]],
  );
  assert.deepEqual((await expiringWithin(deps, t, 1, { accountId: m.id })).length, 0);
});

test('expiry job: 100,000 lots with mixed dates; exactly the due ones expire; a second run does nothing', async () => {
  const { t, wallet, issuance } = await setup();
  const members = await Promise.all(Array.from({ length: 2_000 }, (_, i) => wallet(`x${i}`)));
  const cutoff = new Date();
  let dueTotal = 0;
  const expected = new Map<string, number>();
  await Promise.all(
    members.map((m, i) => {
      const legs = Array.from({ length: 50 }, (_, j) => {
        const due = (i + j) % 3 === 0;
        const amount = 1 + ((i * 7 + j) % 9);
        if (due) {
          dueTotal += amount;
          expected.set(m.id, (expected.get(m.id) ?? 0) + amount);
        }
        // Due lots expired up to 100 days ago; the others expire up to 100 days ahead.
        const days = 1 + ((i + 3 * j) % 100);
        return {
          debit: issuance.id,
          credit: m.id,
          amount,
          ledger: 'POINT',
          expiresAt: new Date(cutoff.getTime() + (due ? -days : days) * DAY),
        };
      });
      return post(deps, { tenantId: t, id: `bulk-${i}`, code: 'EARN', legs }).then(ok);
    }),
  );
  const { n } = await deps.db
    .selectFrom('ledger_lot')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', t)
    .executeTakeFirstOrThrow();
  assert.equal(Number(n), 100_000);

  const first = await expireLots(deps, { cutoff, chunk: 500, tenantId: t });
  assert.equal(first.accounts, expected.size);
  const breakage = await systemAccount(deps, t, 'POINT', 'breakage');
  assert.equal((await getAccount(deps, t, breakage.id)).balance.posted, dueTotal);
  const { left } = await deps.db
    .selectFrom('ledger_lot')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('remaining'), sql<number>`0`).as('left'))
    .where('tenant_id', '=', t)
    .where('expires_at', '<=', cutoff)
    .executeTakeFirstOrThrow();
  assert.equal(Number(left), 0, 'nothing due is left');
  for (const m of members.slice(0, 20)) await assertLotsMatchBalance(t, m.id);

  const second = await expireLots(deps, { cutoff, chunk: 500, tenantId: t });
  assert.equal(second.accounts, 0, 'a re-run expires nothing');
  assert.equal((await getAccount(deps, t, breakage.id)).balance.posted, dueTotal);
  await rollupDeferred(deps);
  assert.ok((await trialBalance(deps, t)).every((l) => l.total === 0));
});

// A model of one lots account: lots drawn first-expiring-first, given back latest-expiring first.
type Lot = { id: string; expires: number; remaining: number };
type Draw = Map<string, number>; // lot id -> amount drawn and not given back
type LotOp =
  | { k: 'earn'; amount: number; days: number | null }
  | { k: 'use'; amount: number }
  | { k: 'reverse'; of: number; amount: number }
  | { k: 'expire'; days: number };

test('property: lots follow first-expiring-first draws, exact restoration and expiry, and always add up to the balance', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.record({
            k: fc.constant('earn' as const),
            amount: fc.integer({ min: 1, max: 40 }),
            days: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }),
          }),
          fc.record({ k: fc.constant('use' as const), amount: fc.integer({ min: 1, max: 60 }) }),
          fc.record({ k: fc.constant('reverse' as const), of: fc.nat(20), amount: fc.integer({ min: 1, max: 40 }) }),
          fc.record({ k: fc.constant('expire' as const), days: fc.integer({ min: 1, max: 60 }) }),
        ),
        { minLength: 1, maxLength: 25 },
      ),
      async (ops: LotOp[]) => {
        const { t, wallet, issuance, revenue } = await setup();
        const m = await wallet('m');
        const lots: Lot[] = [];
        const uses: { id: string; draws: Draw; left: number }[] = [];
        let expired = 0;
        const order = (l: Lot) => [l.expires, Number(l.id.slice(1))];
        for (const [i, op] of ops.entries()) {
          const id = `o${i}`;
          if (op.k === 'earn') {
            const expiresAt = op.days === null ? undefined : inDays(op.days);
            ok(
              await post(deps, {
                tenantId: t,
                id,
                code: 'EARN',
                legs: [{ debit: issuance.id, credit: m.id, amount: op.amount, ledger: 'POINT', expiresAt }],
              }),
            );
            lots.push({ id, expires: op.days ?? Number.MAX_SAFE_INTEGER, remaining: op.amount });
          } else if (op.k === 'use') {
            const total = lots.reduce((s, l) => s + l.remaining, 0);
            const r = await post(deps, {
              tenantId: t,
              id,
              code: 'USE',
              legs: [{ debit: m.id, credit: revenue.id, amount: op.amount, ledger: 'POINT' }],
            });
            assert.equal(r.status, op.amount <= total ? 'posted' : 'rejected');
            if (r.status !== 'posted') continue;
            let left = op.amount;
            const draws: Draw = new Map();
            for (const l of [...lots].sort((a, b) => order(a)[0]! - order(b)[0]! || order(a)[1]! - order(b)[1]!)) {
              const take = Math.min(left, l.remaining);
              if (take === 0) continue;
              l.remaining -= take;
              draws.set(l.id, take);
              left -= take;
              if (left === 0) break;
            }
            uses.push({ id, draws, left: op.amount });
          } else if (op.k === 'expire') {
            // The job as of a later day: every lot due by then expires into breakage.
            const due = lots.filter((l) => l.expires <= op.days).reduce((sum, l) => sum + l.remaining, 0);
            const run = await expireLots(deps, { cutoff: inDays(op.days + 0.5), tenantId: t });
            assert.equal(run.accounts, due > 0 ? 1 : 0);
            for (const l of lots) if (l.expires <= op.days) l.remaining = 0;
            expired += due;
          } else {
            const u = uses[op.of % Math.max(1, uses.length)];
            if (!u) continue;
            const r = await reverse(deps, { tenantId: t, id, transactionId: u.id, amounts: [op.amount] });
            assert.equal(r.status, op.amount <= u.left ? 'posted' : 'rejected');
            if (r.status !== 'posted') continue;
            u.left -= op.amount;
            let left = op.amount;
            const drawn = lots
              .filter((l) => (u.draws.get(l.id) ?? 0) > 0)
              .sort((a, b) => order(b)[0]! - order(a)[0]! || order(b)[1]! - order(a)[1]!);
            for (const l of drawn) {
              const give = Math.min(left, u.draws.get(l.id)!);
              l.remaining += give;
              u.draws.set(l.id, u.draws.get(l.id)! - give);
              left -= give;
              if (left === 0) break;
            }
          }
        }
        const expected = Object.fromEntries(lots.filter((l) => l.remaining > 0).map((l) => [l.id, l.remaining]));
        assert.deepEqual(await remaining(t, m.id), expected);
        await assertLotsMatchBalance(t, m.id);
        const breakage = await systemAccount(deps, t, 'POINT', 'breakage');
        assert.equal((await getAccount(deps, t, breakage.id)).balance.posted, expired);
        await rollupDeferred(deps);
        assert.ok((await trialBalance(deps, t)).every((l) => l.total === 0));
      },
    ),
    { numRuns: 25 },
  );
});
