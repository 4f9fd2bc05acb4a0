import { type Insertable, sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type { LedgerAccountRow, LedgerAccountTable } from './ledger.tables.ts';

// SQL only. Postings go through the database function ledger_post (migrations/0003_ledger.sql):
// every constraint is checked there, under the batch's row locks, never read-then-written here.

export type BatchItem = {
  t: string;
  id: string;
  h: string;
  k: 'post' | 'hold' | 'capture' | 'void' | 'reverse' | 'expire';
  code: string;
  ref: string | null;
  memo: string | null;
  at: string;
  legs?: { d: string; c: string; a: number; l: string; x?: string }[];
  cutoff?: string;
  timeout?: number;
  target?: string;
  amounts?: number[];
  expired?: boolean;
};

export type BatchResult = {
  id: string;
  s: 'posted' | 'pending' | 'rejected' | 'conflict';
  replay?: boolean;
  r?: Record<string, unknown> | null;
  b?: [number | null, number | null][];
};

/** One round trip, one database transaction (or part of the caller's). */
export async function postBatch(db: Db, batch: BatchItem[]): Promise<BatchResult[]> {
  const { rows } = await sql<{ r: BatchResult[] | string }>`select ledger_post(${JSON.stringify(batch)}::jsonb) as r`.execute(db);
  const r = rows[0]!.r;
  return typeof r === 'string' ? JSON.parse(r) : r;
}

export async function insertAccount(db: Db, row: Insertable<LedgerAccountTable>): Promise<LedgerAccountRow | undefined> {
  return db
    .insertInto('ledger_account')
    .values(row)
    .onConflict((oc) => oc.columns(['tenant_id', 'owner_type', 'owner_id', 'ledger', 'kind']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findAccountByOwner(
  db: Db,
  tenantId: string,
  key: { ledger: string; ownerType: string; ownerId: string; kind: string },
): Promise<LedgerAccountRow | undefined> {
  return db
    .selectFrom('ledger_account')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('ledger', '=', key.ledger)
    .where('owner_type', '=', key.ownerType)
    .where('owner_id', '=', key.ownerId)
    .where('kind', '=', key.kind)
    .executeTakeFirst();
}

/** An owner's accounts (a member's wallets), by the unique key's prefix. Owners' accounts are never deferred. */
export function accountsByOwner(db: Db, tenantId: string, ownerType: string, ownerId: string): Promise<LedgerAccountRow[]> {
  return db
    .selectFrom('ledger_account')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('owner_type', '=', ownerType)
    .where('owner_id', '=', ownerId)
    .orderBy('ledger')
    .orderBy('kind')
    .execute();
}

/** The account with its deferred deltas folded in: exact whether or not a rollup ran. */
export async function findAccount(db: Db, tenantId: string, accountId: string): Promise<LedgerAccountRow | undefined> {
  return db
    .selectFrom('ledger_account as a')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('ledger_delta')
          .select((e) => [
            'account_id',
            e.fn.sum<number>('debits_posted').as('dp'),
            e.fn.sum<number>('credits_posted').as('cp'),
            e.fn.sum<number>('debits_pending').as('dq'),
            e.fn.sum<number>('credits_pending').as('cq'),
          ])
          .where('tenant_id', '=', tenantId)
          .where('account_id', '=', accountId)
          .groupBy('account_id')
          .as('d'),
      (join) => join.onRef('d.account_id', '=', 'a.id'),
    )
    .select([
      'a.tenant_id',
      'a.id',
      'a.ledger',
      'a.owner_type',
      'a.owner_id',
      'a.kind',
      'a.debits_must_not_exceed_credits',
      'a.credits_must_not_exceed_debits',
      'a.deferred',
      'a.has_lots',
      'a.status',
      'a.created_at',
      sql<number>`a.debits_posted + coalesce(d.dp, 0)`.as('debits_posted'),
      sql<number>`a.credits_posted + coalesce(d.cp, 0)`.as('credits_posted'),
      sql<number>`a.debits_pending + coalesce(d.dq, 0)`.as('debits_pending'),
      sql<number>`a.credits_pending + coalesce(d.cq, 0)`.as('credits_pending'),
    ])
    .where('a.tenant_id', '=', tenantId)
    .where('a.id', '=', accountId)
    .executeTakeFirst();
}

/** Posted balance (credits - debits) as of an instant: the sum of the account's postings until then. */
export async function balanceAsOf(db: Db, tenantId: string, accountId: string, at: Date): Promise<number> {
  const row = await db
    .selectFrom('ledger_posting')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), sql<number>`0`).as('balance'))
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where('pending', '=', false)
    .where('created_at', '<=', at)
    .executeTakeFirstOrThrow();
  return Number(row.balance);
}

export type HistoryRow = {
  seq: number;
  transaction_id: string;
  leg: number;
  amount: number;
  pending: boolean;
  balance_after: number | null;
  created_at: Date;
  code: string;
  reference: string | null;
  memo: string | null;
  event_at: Date;
};

/** Newest first; `before` is the seq of the last entry of the previous page. */
export async function history(
  db: Db,
  tenantId: string,
  accountId: string,
  limit: number,
  before?: number,
): Promise<HistoryRow[]> {
  return db
    .selectFrom('ledger_posting as p')
    .innerJoin('ledger_transaction as t', (j) =>
      j.onRef('t.tenant_id', '=', 'p.tenant_id').onRef('t.id', '=', 'p.transaction_id'),
    )
    .select([
      'p.seq',
      'p.transaction_id',
      'p.leg',
      'p.amount',
      'p.pending',
      'p.balance_after',
      'p.created_at',
      't.code',
      't.reference',
      't.memo',
      't.event_at',
    ])
    .where('p.tenant_id', '=', tenantId)
    .where('p.account_id', '=', accountId)
    .$if(before !== undefined, (qb) => qb.where('p.seq', '<', before!))
    .orderBy('p.seq', 'desc')
    .limit(limit)
    .execute();
}

/** Per ledger, the sum of every account's posted balance (deltas included): zero when balanced. */
export async function trialBalance(db: Db, tenantId: string): Promise<{ ledger: string; accounts: number; total: number }[]> {
  const { rows } = await sql<{ ledger: string; accounts: number; total: number }>`
    select a.ledger, count(*)::int as accounts,
      (sum(a.credits_posted - a.debits_posted) + coalesce(sum(d.net), 0))::bigint as total
    from ledger_account a
    left join (
      select account_id, sum(credits_posted - debits_posted) as net from ledger_delta where tenant_id = ${tenantId} group by account_id
    ) d on d.account_id = a.id
    where a.tenant_id = ${tenantId}
    group by a.ledger
    order by a.ledger`.execute(db);
  return rows.map((r) => ({ ...r, total: Number(r.total) }));
}

export type LotRow = {
  id: number;
  transaction_id: string;
  leg: number;
  amount: number;
  remaining: number;
  expires_at: Date | null;
  created_at: Date;
};

/** The account's lots, first-expiring first; open ones only unless `all`. */
export async function lots(db: Db, tenantId: string, accountId: string, all: boolean): Promise<LotRow[]> {
  return db
    .selectFrom('ledger_lot')
    .select(['id', 'transaction_id', 'leg', 'amount', 'remaining', 'expires_at', 'created_at'])
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .$if(!all, (qb) => qb.where('remaining', '>', 0))
    .orderBy(sql`expires_at nulls last`)
    .orderBy('id')
    .execute();
}

/** Per account, what expires in (now, until]: for notices ahead of expiry. */
export async function expiringWithin(
  db: Db,
  tenantId: string,
  until: Date,
  filter: { accountId?: string | undefined; ledger?: string | undefined },
) {
  return db
    .selectFrom('ledger_lot as l')
    .innerJoin('ledger_account as a', (j) => j.onRef('a.tenant_id', '=', 'l.tenant_id').onRef('a.id', '=', 'l.account_id'))
    .select((eb) => [
      'l.account_id',
      'a.owner_type',
      'a.owner_id',
      eb.fn.sum<number>('l.remaining').as('amount'),
      eb.fn.min<Date>('l.expires_at').as('first_expiry'),
    ])
    .where('l.tenant_id', '=', tenantId)
    .where('l.remaining', '>', 0)
    .where('l.expires_at', '>', sql<Date>`now()`)
    .where('l.expires_at', '<=', until)
    .$if(filter.accountId !== undefined, (qb) => qb.where('l.account_id', '=', filter.accountId!))
    .$if(filter.ledger !== undefined, (qb) => qb.where('a.ledger', '=', filter.ledger!))
    .groupBy(['l.account_id', 'a.owner_type', 'a.owner_id'])
    .orderBy('l.account_id')
    .execute();
}

/** Accounts with lots due by the cutoff (through the ledger_lot_due index), with their ledger. */
export async function accountsWithDueLots(
  db: Db,
  cutoff: Date,
  limit: number,
  after?: { tenantId: string; accountId: string },
  tenantId?: string,
) {
  return db
    .selectFrom('ledger_lot as l')
    .innerJoin('ledger_account as a', (j) => j.onRef('a.tenant_id', '=', 'l.tenant_id').onRef('a.id', '=', 'l.account_id'))
    .select(['l.tenant_id', 'l.account_id', 'a.ledger'])
    .distinct()
    .where('l.remaining', '>', 0)
    .where('l.expires_at', '<=', cutoff)
    .$if(tenantId !== undefined, (qb) => qb.where('l.tenant_id', '=', tenantId!))
    .$if(after !== undefined, (qb) =>
      qb.where((eb) => eb(eb.refTuple('l.tenant_id', 'l.account_id'), '>', eb.tuple(after!.tenantId, after!.accountId))),
    )
    .orderBy('l.tenant_id')
    .orderBy('l.account_id')
    .limit(limit)
    .execute();
}

/** Pending holds whose timeout has passed, oldest first. */
export async function dueHolds(db: Db, limit: number, tenantId?: string): Promise<{ tenant_id: string; id: string }[]> {
  return db
    .selectFrom('ledger_transaction')
    .select(['tenant_id', 'id'])
    .where('status', '=', 'pending')
    .where('timeout_at', '<=', sql<Date>`now()`)
    .$if(tenantId !== undefined, (qb) => qb.where('tenant_id', '=', tenantId!))
    .orderBy('timeout_at')
    .limit(limit)
    .execute();
}

export async function rollup(db: Db, limit: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select ledger_rollup(${limit}) as n`.execute(db);
  return Number(rows[0]!.n);
}
