import type { Db } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { type Committer, createCommitter } from './ledger.committer.ts';
import * as repo from './ledger.repository.ts';
import {
  type CaptureHold,
  deriveBalances,
  type HoldTransaction,
  LEDGER_NAME,
  type LedgerOperation,
  type LedgerRejection,
  operationHash,
  type PostingLeg,
  type PostTransaction,
  type ReverseTransaction,
  type VoidHold,
  validateOperation,
} from './ledger.rules.ts';
import type { TLedgerAccount, TLedgerEntry, TLedgerLot } from './ledger.schemas.ts';
import type { LedgerAccountRow } from './ledger.tables.ts';

export type PostResult =
  | {
      /** posted: value moved; pending: a hold placed (its amounts reserved). */
      status: 'posted' | 'pending';
      id: string;
      replayed: boolean;
      /** Per leg, the posted balance of each side after it (null for deferred accounts and replays). */
      balances: { debit: number | null; credit: number | null }[];
    }
  | { status: 'rejected'; id: string; replayed: boolean; rejection: LedgerRejection };

// One committer per database handle: every post of the process shares its batches.
const committers = new WeakMap<Db, Committer>();
function committerFor(db: Db): Committer {
  let c = committers.get(db);
  if (!c) committers.set(db, (c = createCommitter(db)));
  return c;
}

const DEFAULT_CODES = { capture: 'CAPTURE', void: 'VOID', reverse: 'REVERSAL' } as const;

const toBatchLeg = (l: PostingLeg) => ({
  d: l.debit,
  c: l.credit,
  a: l.amount,
  l: l.ledger,
  ...(l.expiresAt ? { x: l.expiresAt.toISOString() } : {}),
});

function toItem(op: LedgerOperation): repo.BatchItem {
  validateOperation(op);
  const item: repo.BatchItem = {
    t: op.tenantId,
    id: op.id,
    h: operationHash(op),
    k: op.kind,
    code: op.code ?? DEFAULT_CODES[op.kind as keyof typeof DEFAULT_CODES],
    ref: op.reference ?? null,
    memo: op.memo ?? null,
    at: (op.eventAt ?? new Date()).toISOString(),
  };
  switch (op.kind) {
    case 'hold':
    case 'post':
      item.legs = op.legs.map(toBatchLeg);
      if (op.kind === 'hold') item.timeout = op.timeoutSeconds;
      break;
    case 'capture':
      item.target = op.holdId;
      if (op.amounts) item.amounts = op.amounts;
      break;
    case 'void':
      item.target = op.holdId;
      if (op.expired) item.expired = true;
      break;
    case 'reverse':
      item.target = op.transactionId;
      if (op.amounts) item.amounts = op.amounts;
      break;
    case 'expire':
      item.legs = [{ d: op.accountId, c: op.breakageId, a: 0, l: op.ledger }];
      item.cutoff = op.cutoff.toISOString();
      break;
  }
  return item;
}

function toResult(r: repo.BatchResult): PostResult {
  if (r.s === 'conflict') {
    throw new AppError('TRANSACTION_ID_CONFLICT', `Transaction ${r.id} was already submitted with other content.`, {
      transactionId: r.id,
    });
  }
  if (r.s === 'rejected') return { status: 'rejected', id: r.id, replayed: r.replay === true, rejection: r.r as LedgerRejection };
  return {
    status: r.s,
    id: r.id,
    replayed: r.replay === true,
    balances: (r.b ?? []).map(([debit, credit]) => ({ debit, credit })),
  };
}

async function submit(deps: Pick<Deps, 'db'>, op: LedgerOperation): Promise<PostResult> {
  const item = toItem(op);
  return toResult(await committerFor(deps.db).submit(item));
}

/**
 * Posts a transaction through the group committer (the product's path): gathered with concurrent
 * posts into one database round trip. Resolves with the outcome, a rejection included; the same id
 * posted again returns the same outcome (`replayed: true`); the same id with other content throws
 * TRANSACTION_ID_CONFLICT.
 */
export const post = (deps: Pick<Deps, 'db'>, tx: PostTransaction) => submit(deps, { kind: 'post', ...tx });

/** Reserves the amounts (status pending) until captured or voided; released after the timeout. */
export const hold = (deps: Pick<Deps, 'db'>, tx: HoldTransaction) => submit(deps, { kind: 'hold', ...tx });

/** Posts a pending hold in full or in part (the rest is released); a hold resolves at most once. */
export const captureHold = (deps: Pick<Deps, 'db'>, c: CaptureHold) => submit(deps, { kind: 'capture', ...c });

/** Releases a pending hold. */
export const voidHold = (deps: Pick<Deps, 'db'>, v: VoidHold) => submit(deps, { kind: 'void', ...v });

/** Reverses a posted transfer or capture, fully or in part; reversals never add up to more than it. */
export const reverse = (deps: Pick<Deps, 'db'>, r: ReverseTransaction) => submit(deps, { kind: 'reverse', ...r });

/**
 * The ledger operations inside the caller's open transaction (one round trip each, no batching):
 * for a module whose own rows must change in the same transaction as the value.
 */
export function inTransaction(db: Db) {
  const run = async (op: LedgerOperation) => toResult((await repo.postBatch(db, [toItem(op)]))[0]!);
  return {
    post: (tx: PostTransaction) => run({ kind: 'post', ...tx }),
    hold: (tx: HoldTransaction) => run({ kind: 'hold', ...tx }),
    captureHold: (c: CaptureHold) => run({ kind: 'capture', ...c }),
    voidHold: (v: VoidHold) => run({ kind: 'void', ...v }),
    reverse: (r: ReverseTransaction) => run({ kind: 'reverse', ...r }),
  };
}

/** Posts inside the caller's open transaction (one round trip of its own, no batching). */
export const postInTransaction = (db: Db, tx: PostTransaction): Promise<PostResult> => inTransaction(db).post(tx);

/**
 * Releases holds whose timeout has passed (a job in every process). Each release has the id
 * `expire:<hold id>`, so a re-run or a second process never releases a hold twice.
 */
export async function expireHolds(deps: Pick<Deps, 'db'>, options: { limit?: number; tenantId?: string } = {}): Promise<number> {
  const due = await repo.dueHolds(deps.db, options.limit ?? 1_000, options.tenantId);
  const results = await Promise.all(
    due.map((h) =>
      submit(deps, {
        kind: 'void',
        tenantId: h.tenant_id,
        id: `expire:${h.id}`,
        holdId: h.id,
        code: 'HOLD_EXPIRED',
        expired: true,
      }),
    ),
  );
  return results.filter((r) => r.status === 'posted' && !r.replayed).length;
}

/** Posts and turns a rejection into an AppError with the rejection's code and values. */
export async function postOrThrow(
  deps: Pick<Deps, 'db'>,
  tx: PostTransaction,
): Promise<PostResult & { status: 'posted' | 'pending' }> {
  const result = await post(deps, tx);
  if (result.status === 'rejected') throw rejectionError(result.rejection);
  return result;
}

export function rejectionError(rejection: LedgerRejection): AppError {
  const r = rejection;
  const messages: Record<LedgerRejection['code'], string> = {
    INSUFFICIENT_BALANCE: `Account ${r.accountId} holds ${r.available} available; ${r.amount} was asked.`,
    CREDIT_LIMIT_EXCEEDED: `Account ${r.accountId} cannot take ${r.amount} more.`,
    ACCOUNT_NOT_FOUND: `Account ${r.accountId} does not exist.`,
    ACCOUNT_NOT_ACTIVE: `Account ${r.accountId} is ${r.status}.`,
    LEDGER_MISMATCH: `Account ${r.accountId} is in ledger ${r.accountLedger}, not ${r.ledger}.`,
    HOLD_NOT_FOUND: `No hold ${r.holdId}.`,
    HOLD_NOT_PENDING: `Hold ${r.holdId} is already ${r.status}.`,
    HOLD_EXPIRED: `Hold ${r.holdId} expired at ${r.expiredAt}.`,
    CAPTURE_EXCEEDS_HOLD: `Leg ${r.leg} holds ${r.held}; ${r.amount} cannot be captured.`,
    TRANSACTION_NOT_FOUND: `No transaction ${r.transactionId}.`,
    NOT_REVERSIBLE: `Transaction ${r.transactionId} (${r.kind}, ${r.status}) cannot be reversed.`,
    REVERSAL_EXCEEDS_ORIGINAL: `Leg ${r.leg} moved ${r.original}, ${r.reversed} of it reversed already; ${r.amount} more cannot be.`,
    NOTHING_TO_REVERSE: `Transaction ${r.transactionId} is fully reversed.`,
    NOTHING_TO_EXPIRE: `Account ${r.accountId} has no lot due by ${r.cutoff}.`,
  };
  return new AppError(r.code, messages[r.code], { ...r });
}

export type AccountSpec = {
  ledger: string;
  ownerType: string;
  ownerId: string;
  kind: string;
  /** Member wallets: never below zero (holds included). */
  debitsMustNotExceedCredits?: boolean;
  creditsMustNotExceedDebits?: boolean;
  /** Hot system accounts without constraints: updated by rollup, never locked by postings. */
  deferred?: boolean;
  /** An expiring currency (points): credits make lots with an expiry; needs debitsMustNotExceedCredits. */
  hasLots?: boolean;
};

export function toAccountDto(row: LedgerAccountRow): TLedgerAccount {
  const counters = {
    debitsPosted: Number(row.debits_posted),
    creditsPosted: Number(row.credits_posted),
    debitsPending: Number(row.debits_pending),
    creditsPending: Number(row.credits_pending),
  };
  return {
    id: row.id,
    ledger: row.ledger,
    ownerType: row.owner_type,
    ownerId: row.owner_id,
    kind: row.kind,
    status: row.status,
    flags: {
      debitsMustNotExceedCredits: row.debits_must_not_exceed_credits,
      creditsMustNotExceedDebits: row.credits_must_not_exceed_debits,
      deferred: row.deferred,
      hasLots: row.has_lots,
    },
    balance: { ...deriveBalances(counters), ...counters },
    createdAt: row.created_at.toISOString(),
  };
}

/** Opens the account for (ledger, owner, kind), or returns the one that exists. */
export async function openAccount(deps: Pick<Deps, 'db'>, tenantId: string, spec: AccountSpec): Promise<TLedgerAccount> {
  if (!LEDGER_NAME.test(spec.ledger)) throw fieldError('ledger', 'must look like POINT or STAMP:card_1');
  // Nearly always it exists: one read. Else insert, and read again if another request won the race.
  const existing = await repo.findAccountByOwner(deps.db, tenantId, spec);
  if (existing) return toAccountDto(existing);
  const inserted = await repo.insertAccount(deps.db, {
    tenant_id: tenantId,
    id: newId('acc'),
    ledger: spec.ledger,
    owner_type: spec.ownerType,
    owner_id: spec.ownerId,
    kind: spec.kind,
    debits_must_not_exceed_credits: spec.debitsMustNotExceedCredits ?? false,
    credits_must_not_exceed_debits: spec.creditsMustNotExceedDebits ?? false,
    deferred: spec.deferred ?? false,
    has_lots: spec.hasLots ?? false,
  });
  const row = inserted ?? (await repo.findAccountByOwner(deps.db, tenantId, spec));
  if (!row) throw new Error('account vanished after insert conflict');
  return toAccountDto(row);
}

/** The account of a ledger, owner and kind if it was ever opened (a read: nothing is created). */
export async function findAccount(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  key: { ledger: string; ownerType: string; ownerId: string; kind: string },
): Promise<TLedgerAccount | undefined> {
  const row = await repo.findAccountByOwner(deps.db, tenantId, key);
  return row && toAccountDto(row);
}

export type SystemAccountKind = 'issuance' | 'breakage' | 'float' | 'revenue';

/** A tenant's system account in a ledger: deferred (hot), unconstrained. */
export function systemAccount(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  ledger: string,
  kind: SystemAccountKind,
): Promise<TLedgerAccount> {
  return openAccount(deps, tenantId, { ledger, ownerType: 'tenant', ownerId: tenantId, kind, deferred: true });
}

/** The accounts of an owner (e.g. a member's points, prepaid and stamp wallets), with balances. */
export async function accountsOfOwner(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  ownerType: string,
  ownerId: string,
): Promise<TLedgerAccount[]> {
  return (await repo.accountsByOwner(deps.db, tenantId, ownerType, ownerId)).map(toAccountDto);
}

export async function getAccount(deps: Pick<Deps, 'db'>, tenantId: string, accountId: string): Promise<TLedgerAccount> {
  const row = await repo.findAccount(deps.db, tenantId, accountId);
  if (!row) throw new AppError('NOT_FOUND', `Ledger account ${accountId} does not exist.`, { accountId });
  return toAccountDto(row);
}

export async function balanceAsOf(deps: Pick<Deps, 'db'>, tenantId: string, accountId: string, at: Date): Promise<number> {
  await getAccount(deps, tenantId, accountId);
  return repo.balanceAsOf(deps.db, tenantId, accountId, at);
}

export async function accountHistory(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  accountId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: TLedgerEntry[]; nextCursor: string | null }> {
  await getAccount(deps, tenantId, accountId);
  const before = page.cursor === undefined ? undefined : Number(page.cursor);
  if (before !== undefined && !Number.isSafeInteger(before)) throw new AppError('VALIDATION_FAILED', 'Invalid cursor.');
  const rows = await repo.history(deps.db, tenantId, accountId, page.limit + 1, before);
  const items = rows.slice(0, page.limit).map(
    (r): TLedgerEntry => ({
      seq: String(r.seq),
      transactionId: r.transaction_id,
      leg: r.leg,
      amount: Number(r.amount),
      pending: r.pending,
      balanceAfter: r.balance_after === null ? null : Number(r.balance_after),
      code: r.code,
      reference: r.reference,
      memo: r.memo,
      eventAt: r.event_at.toISOString(),
      createdAt: r.created_at.toISOString(),
    }),
  );
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)!.seq : null };
}

export async function accountLots(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  accountId: string,
  all = false,
): Promise<TLedgerLot[]> {
  await getAccount(deps, tenantId, accountId);
  return (await repo.lots(deps.db, tenantId, accountId, all)).map((l) => ({
    id: String(l.id),
    transactionId: l.transaction_id,
    amount: Number(l.amount),
    remaining: Number(l.remaining),
    expiresAt: l.expires_at?.toISOString() ?? null,
    createdAt: l.created_at.toISOString(),
  }));
}

/** Per account (and its owner), the amount that expires within `days` (for notices, e.g. 30 days ahead). */
export async function expiringWithin(
  deps: Pick<Deps, 'db' | 'clock'>,
  tenantId: string,
  days: number,
  filter: { accountId?: string | undefined; ledger?: string | undefined } = {},
) {
  const until = new Date(deps.clock.now().getTime() + days * 86_400_000);
  const rows = await repo.expiringWithin(deps.db, tenantId, until, filter);
  return rows.map((r) => ({
    accountId: r.account_id,
    ownerType: r.owner_type,
    ownerId: r.owner_id,
    amount: Number(r.amount),
    firstExpiry: new Date(r.first_expiry).toISOString(),
  }));
}

/**
 * Expires every lot due by `cutoff` (default now), of every tenant or of one: one EXPIRE transaction per account per run,
 * debiting the lots account and crediting the tenant's breakage account, with the id
 * `expire:<account>:<cutoff>` — a re-run or a crashed run never expires anything twice. Accounts are
 * found through the due-lot index and handled in chunks, each chunk one batch of short locks.
 */
export async function expireLots(deps: Pick<Deps, 'db'>, options: { cutoff?: Date; chunk?: number; tenantId?: string } = {}) {
  const cutoff = options.cutoff ?? new Date();
  const chunk = options.chunk ?? 500;
  let after: { tenantId: string; accountId: string } | undefined;
  let accounts = 0;
  for (;;) {
    const due = await repo.accountsWithDueLots(deps.db, cutoff, chunk, after, options.tenantId);
    if (due.length === 0) return { accounts };
    const breakage = new Map<string, string>();
    for (const d of due) {
      const key = `${d.tenant_id} ${d.ledger}`;
      if (!breakage.has(key)) breakage.set(key, (await systemAccount(deps, d.tenant_id, d.ledger, 'breakage')).id);
    }
    const results = await Promise.all(
      due.map((d) =>
        submit(deps, {
          kind: 'expire',
          tenantId: d.tenant_id,
          id: `expire:${d.account_id}:${cutoff.toISOString()}`,
          code: 'EXPIRE',
          accountId: d.account_id,
          breakageId: breakage.get(`${d.tenant_id} ${d.ledger}`)!,
          ledger: d.ledger,
          cutoff,
        }),
      ),
    );
    accounts += results.filter((r) => r.status === 'posted' && !r.replayed).length;
    const last = due.at(-1)!;
    after = { tenantId: last.tenant_id, accountId: last.account_id };
  }
}

export function trialBalance(deps: Pick<Deps, 'db'>, tenantId: string) {
  return repo.trialBalance(deps.db, tenantId);
}

/** Folds deferred deltas into their accounts; run by a job in every process (safe concurrently). */
export async function rollupDeferred(deps: Pick<Deps, 'db'>, chunk = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await repo.rollup(deps.db, chunk);
    total += n;
    if (n < chunk) return total;
  }
}

/** Waits for this process's pending batches (tests, shutdown). */
export function drainLedger(db: Db): Promise<void> {
  return committers.get(db)?.drain() ?? Promise.resolve();
}
