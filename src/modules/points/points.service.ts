import { sql } from 'kysely';
import { applyBp, requireAmounts } from '../../platform/amounts.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, cancelIdUsed, fieldError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import type { OutboxMessage } from '../../platform/outbox.ts';
import { gradeSettings } from '../grades/index.ts';
import {
  accountLots,
  expiringWithin,
  findAccount,
  inTransaction,
  type LedgerRejection,
  openAccount,
  type PostResult,
  systemAccount,
} from '../ledger/index.ts';
import { memberGrade, requireActiveMember, requireMember } from '../members/index.ts';
import { requireStore } from '../stores/index.ts';
import { getTenant } from '../tenants/index.ts';
import { checkUse, earnAmount, expiryOf } from './points.rules.ts';
import { type TPointOperation, type TPointPolicySettings, ZPointPolicySettings } from './points.schemas.ts';
import type { PointOperationKind, PointOperationRow } from './points.tables.ts';

// Points move only through the ledger (ledger POINT): a member's wallet is a lots account, earnings
// come from the tenant's issuance account, uses go to its revenue account, expiry to its breakage
// account. The ledger transaction id is derived from the order or the caller's id, so a retry can
// never earn or use twice, with or without the Idempotency-Key.

type PointsDeps = Pick<Deps, 'db' | 'clock'>;
/** The writes that take amounts from a request check them against the configured maximum. */
type PointsWriteDeps = PointsDeps & Pick<Deps, 'config'>;
export const POINT = 'POINT';

export type PolicyVersion = { version: number; effectiveFrom: string; settings: TPointPolicySettings };
const DEFAULT_POLICY: PolicyVersion = {
  version: 0,
  effectiveFrom: new Date(0).toISOString(),
  settings: ZPointPolicySettings.parse({}),
};

/** The policy in force at a moment (version 0, the default, until the brand sets one). */
export async function pointPolicyAt(deps: Pick<Deps, 'db'>, tenantId: string, at: Date): Promise<PolicyVersion> {
  const row = await deps.db
    .selectFrom('point_policy')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('effective_from', '<=', at)
    .orderBy('effective_from', 'desc')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return DEFAULT_POLICY;
  return {
    version: row.version,
    effectiveFrom: row.effective_from.toISOString(),
    settings: ZPointPolicySettings.parse(row.settings),
  };
}

/** Every version, newest first. */
export async function pointPolicies(deps: Pick<Deps, 'db'>, tenantId: string): Promise<PolicyVersion[]> {
  const rows = await deps.db
    .selectFrom('point_policy')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map((r) => ({
    version: r.version,
    effectiveFrom: r.effective_from.toISOString(),
    settings: ZPointPolicySettings.parse(r.settings),
  }));
}

/** Adds a policy version that applies from `effectiveFrom` (now or later); nothing earlier changes. */
export async function setPointPolicy(
  deps: PointsWriteDeps,
  tenantId: string,
  input: { effectiveFrom?: string | undefined; settings: TPointPolicySettings },
): Promise<PolicyVersion> {
  const p = input.settings;
  requireAmounts(deps.config, {
    'settings.minBalanceToUse': p.minBalanceToUse,
    'settings.useUnit': p.useUnit,
    'settings.maxUsePerOrder': p.maxUsePerOrder,
  });
  const now = deps.clock.now();
  const from = input.effectiveFrom ? new Date(input.effectiveFrom) : now;
  if (from.getTime() < now.getTime() - 60_000)
    throw fieldError('effectiveFrom', 'must be now or later: history is never rewritten');
  return withTransaction(deps.db, async (trx) => {
    // One writer at a time per tenant, so versions are consecutive.
    await sql`select pg_advisory_xact_lock(hashtextextended(${`point_policy ${tenantId}`}, 0))`.execute(trx);
    const last = await trx
      .selectFrom('point_policy')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    const version = Number(last?.v ?? 0) + 1;
    await trx
      .insertInto('point_policy')
      .values({ tenant_id: tenantId, version, effective_from: from, settings: JSON.stringify(input.settings) })
      .execute();
    return { version, effectiveFrom: from.toISOString(), settings: input.settings };
  });
}

/** The member's points wallet (a lots account that never goes below zero), opened on first use. */
const walletKey = (memberId: string) => ({ ledger: POINT, ownerType: 'member', ownerId: memberId, kind: 'wallet' });

export function pointWallet(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string) {
  return openAccount(deps, tenantId, { ...walletKey(memberId), debitsMustNotExceedCredits: true, hasLots: true });
}

function toOperation(
  r: PointOperationRow,
  extra: { balance?: number | null | undefined; expiresAt?: Date | undefined } = {},
): TPointOperation {
  return {
    id: r.id,
    memberId: r.member_id,
    kind: r.kind,
    amount: Number(r.amount),
    orderId: r.order_id,
    originalId: r.original_id,
    channel: r.channel,
    storeId: r.store_id,
    reason: r.reason,
    policyVersion: r.policy_version,
    ...(extra.expiresAt !== undefined ? { expiresAt: extra.expiresAt.toISOString() } : {}),
    ...(typeof extra.balance === 'number' ? { balance: extra.balance } : {}),
    createdAt: r.created_at.toISOString(),
  };
}

type NewOperation = Omit<
  PointOperationRow,
  'tenant_id' | 'created_at' | 'order_id' | 'original_id' | 'channel' | 'store_id' | 'reason' | 'actor' | 'policy_version'
> &
  Partial<Pick<PointOperationRow, 'order_id' | 'original_id' | 'channel' | 'store_id' | 'reason' | 'actor' | 'policy_version'>>;

async function insertOperation(db: Db, tenantId: string, op: NewOperation): Promise<PointOperationRow> {
  // The insert finds a duplicate itself: an earning or a use is unique per order (an index), every
  // operation per id. A concurrent twin is waited for, then found below.
  const row = await db
    .insertInto('point_operation')
    .values({
      order_id: null,
      original_id: null,
      channel: null,
      store_id: null,
      reason: null,
      actor: null,
      policy_version: null,
      ...op,
      tenant_id: tenantId,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (row) return row;
  if (op.kind === 'cancel') {
    const made = await db
      .selectFrom('point_operation')
      .select('original_id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', op.id)
      .executeTakeFirst();
    throw cancelIdUsed(op.id, made?.original_id ?? null);
  }
  const existing = op.order_id
    ? await db
        .selectFrom('point_operation')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('kind', '=', op.kind)
        .where('order_id', '=', op.order_id)
        .executeTakeFirst()
    : undefined;
  throw new AppError(
    'ORDER_ALREADY_PROCESSED',
    op.order_id ? `Order ${op.order_id} already has its ${op.kind}.` : `Operation ${op.id} exists already.`,
    {
      operationId: existing?.id ?? op.id,
    },
  );
}

/** A ledger rejection as the points module's own answer. */
function pointsRejection(r: LedgerRejection, context: 'debit' | 'cancel-earn' | 'cancel'): AppError {
  if (r.code === 'INSUFFICIENT_BALANCE') {
    const why = context === 'cancel-earn' ? ' (the earned points were used meanwhile)' : '';
    return new AppError('INSUFFICIENT_POINTS', `The member holds ${r.available} points; ${r.amount} are needed${why}.`, {
      available: r.available,
      amount: r.amount,
      ...(context === 'cancel-earn' ? { why: 'earned_points_used' } : {}),
    });
  }
  if (r.code === 'REVERSAL_EXCEEDS_ORIGINAL' || r.code === 'NOTHING_TO_REVERSE') {
    return new AppError('OPERATION_NOT_CANCELLABLE', 'More would be cancelled than is left of the operation.', {
      why: 'exceeds_remaining',
      ...r,
    });
  }
  return new AppError('CONFLICT', `The ledger rejected the operation: ${r.code}.`, { ...r });
}

const walletBalance = (result: PostResult & { status: 'posted' | 'pending' }, side: 'debit' | 'credit') =>
  result.balances[0]?.[side];

function posted(result: PostResult, context: 'debit' | 'cancel-earn' | 'cancel') {
  if (result.status === 'rejected') throw pointsRejection(result.rejection, context);
  return result;
}

type Grant = {
  id: string;
  kind: Extract<PointOperationKind, 'adjust' | 'import' | 'grant'>;
  memberId: string;
  amount: number;
  reason: string;
  actor?: string | undefined;
  expiresAt?: Date | undefined;
  code?: string;
};

/**
 * Credits points from the issuance account (a new lot expiring by the policy, or at `expiresAt`):
 * operator grants, promotion rewards, imported opening balances. Idempotent on `id`.
 */
export async function grantPoints(deps: PointsDeps, tenantId: string, g: Grant): Promise<TPointOperation> {
  if (!Number.isSafeInteger(g.amount) || g.amount <= 0) throw fieldError('amount', 'must be a positive integer');
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const now = deps.clock.now();
    const policy = await pointPolicyAt(d, tenantId, now);
    const expiresAt = g.expiresAt ?? expiryOf(now, policy.settings.validity, (await getTenant(d, tenantId)).timeZone);
    const [wallet, issuance] = [await pointWallet(d, tenantId, g.memberId), await systemAccount(d, tenantId, POINT, 'issuance')];
    const row = await insertOperation(trx, tenantId, {
      id: g.id,
      member_id: g.memberId,
      kind: g.kind,
      amount: g.amount,
      reason: g.reason,
      actor: g.actor ?? null,
      policy_version: policy.version,
    });
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id: g.id,
        code: g.code ?? g.kind.toUpperCase(),
        memo: g.reason,
        legs: [{ debit: issuance.id, credit: wallet.id, amount: g.amount, ledger: POINT, expiresAt }],
      }),
      'debit',
    );
    await enqueueEvent(trx, tenantId, {
      topic: 'points.earned',
      payload: {
        memberId: g.memberId,
        operationId: g.id,
        amount: g.amount,
        kind: g.kind,
        expiresAt: expiresAt?.toISOString() ?? null,
      },
    });
    return toOperation(row, { balance: walletBalance(result, 'credit'), expiresAt });
  });
}

/** The member's earning rate now: their grade's, or the policy's base rate. */
async function earnRate(deps: PointsDeps, tenantId: string, grade: string | null, policy: TPointPolicySettings): Promise<number> {
  const gradeRate =
    policy.gradeRates && grade
      ? (await gradeSettings(deps, tenantId)).levels.find((l) => l.code === grade)?.accrualBp
      : undefined;
  return gradeRate ?? policy.baseRateBp;
}

/**
 * For a checkout quote (nothing is written): the member's balance, the most they may use on this
 * order under the policy (0 when a rule forbids any use, named in `rule`), and what the paid amount
 * would earn.
 */
export async function pointsQuote(
  deps: PointsDeps,
  tenantId: string,
  input: { memberId: string; orderAmount: number; paidAmount: number; channel: string },
) {
  const member = await requireActiveMember(deps, tenantId, input.memberId);
  const p = (await pointPolicyAt(deps, tenantId, deps.clock.now())).settings;
  // A quote writes nothing: a member who never had points has no wallet yet, and 0 of them.
  const available = (await findAccount(deps, tenantId, walletKey(input.memberId)))?.balance.available ?? 0;
  const limits = [
    available,
    p.maxUsePerOrder ?? Infinity,
    p.maxUseRatioBp === null ? Infinity : applyBp(input.orderAmount, p.maxUseRatioBp),
  ];
  let usable = Math.min(...limits);
  usable -= usable % p.useUnit;
  const rule = !p.useChannels.includes(input.channel as never)
    ? 'POINTS_CHANNEL_NOT_ALLOWED'
    : available < p.minBalanceToUse
      ? 'BELOW_MINIMUM_USE'
      : null;
  const rateBp = await earnRate(deps, tenantId, member.grade, p);
  const earn = p.earnChannels.includes(input.channel as never) ? earnAmount(input.paidAmount, rateBp, p.rounding) : 0;
  return { balance: available, usable: rule ? 0 : usable, rule, useUnit: p.useUnit, earn, earnRateBp: rateBp };
}

/** Earns points on an order's paid amount, at the member's grade rate (or the policy's base rate). */
export async function earnPoints(
  deps: PointsWriteDeps,
  tenantId: string,
  input: { memberId: string; orderId: string; paidAmount: number; channel: string; storeId?: string | undefined },
): Promise<TPointOperation> {
  requireAmounts(deps.config, { paidAmount: input.paidAmount });
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const now = deps.clock.now();
    const member = await requireActiveMember(d, tenantId, input.memberId);
    if (input.storeId !== undefined) await requireStore(d, tenantId, input.storeId);
    const policy = await pointPolicyAt(d, tenantId, now);
    const p = policy.settings;
    if (!p.earnChannels.includes(input.channel as never)) {
      throw new AppError('POINTS_CHANNEL_NOT_ALLOWED', `Points are not earned in channel ${input.channel}.`, {
        channel: input.channel,
        allowed: p.earnChannels,
      });
    }
    const rateBp = await earnRate(d, tenantId, member.grade, p);
    // Never beyond the maximum, whatever the rate and rounding.
    const amount = Math.min(earnAmount(input.paidAmount, rateBp, p.rounding), deps.config.maxAmount);
    const id = `pt.earn.${input.orderId}`;
    const row = await insertOperation(trx, tenantId, {
      id,
      member_id: input.memberId,
      kind: 'earn',
      amount,
      order_id: input.orderId,
      channel: input.channel,
      store_id: input.storeId ?? null,
      reason: `${rateBp / 100}% of ${input.paidAmount}`,
      policy_version: policy.version,
    });
    if (amount === 0) return toOperation(row);
    const expiresAt = expiryOf(now, p.validity, (await getTenant(d, tenantId)).timeZone);
    const [wallet, issuance] = [
      await pointWallet(d, tenantId, input.memberId),
      await systemAccount(d, tenantId, POINT, 'issuance'),
    ];
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'EARN',
        reference: input.orderId,
        legs: [{ debit: issuance.id, credit: wallet.id, amount, ledger: POINT, expiresAt }],
      }),
      'debit',
    );
    await enqueueEvent(trx, tenantId, {
      topic: 'points.earned',
      payload: { memberId: input.memberId, operationId: id, amount, kind: 'earn', expiresAt: expiresAt?.toISOString() ?? null },
    });
    return toOperation(row, { balance: walletBalance(result, 'credit'), expiresAt });
  });
}

/** Uses points on an order, first-expiring lots first; every policy rule is checked and named. */
export async function usePoints(
  deps: PointsWriteDeps,
  tenantId: string,
  input: {
    memberId: string;
    orderId: string;
    amount: number;
    orderAmount?: number | undefined;
    channel: string;
    storeId?: string | undefined;
  },
): Promise<TPointOperation> {
  requireAmounts(deps.config, { amount: input.amount, orderAmount: input.orderAmount });
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    await requireActiveMember(d, tenantId, input.memberId);
    if (input.storeId !== undefined) await requireStore(d, tenantId, input.storeId);
    const policy = await pointPolicyAt(d, tenantId, deps.clock.now());
    const wallet = await pointWallet(d, tenantId, input.memberId);
    // The policy is judged on the balance read here; the ledger enforces the balance itself under its lock.
    const refused = checkUse(policy.settings, { ...input, available: wallet.balance.available });
    if (refused) throw refused;
    const id = `pt.use.${input.orderId}`;
    const row = await insertOperation(trx, tenantId, {
      id,
      member_id: input.memberId,
      kind: 'use',
      amount: -input.amount,
      order_id: input.orderId,
      channel: input.channel,
      store_id: input.storeId ?? null,
      policy_version: policy.version,
    });
    const revenue = await systemAccount(d, tenantId, POINT, 'revenue');
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'USE',
        reference: input.orderId,
        legs: [{ debit: wallet.id, credit: revenue.id, amount: input.amount, ledger: POINT }],
      }),
      'debit',
    );
    await enqueueEvent(trx, tenantId, {
      topic: 'points.used',
      payload: { memberId: input.memberId, operationId: id, amount: input.amount },
    });
    return toOperation(row, { balance: walletBalance(result, 'debit') });
  });
}

/**
 * Cancels an earning, a grant or a use, in full or in part, as a ledger reversal: a cancelled use
 * gives back exactly the lots it drew from (latest-expiring first); a cancelled earning or grant
 * takes from its own lot first, and is refused when the points were used meanwhile.
 */
export async function cancelPoints(
  deps: PointsDeps,
  tenantId: string,
  input: { cancelId: string; operationId: string; amount?: number | undefined },
): Promise<TPointOperation> {
  return withTransaction(deps.db, async (trx) => {
    const original = await trx
      .selectFrom('point_operation')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', input.operationId)
      .forUpdate()
      .executeTakeFirst();
    if (!original) throw new AppError('NOT_FOUND', `No point operation ${input.operationId}.`);
    if (original.kind !== 'earn' && original.kind !== 'use' && original.kind !== 'grant') {
      throw new AppError('OPERATION_NOT_CANCELLABLE', `A ${original.kind} cannot be cancelled; post an adjustment instead.`, {
        why: 'kind',
        kind: original.kind,
      });
    }
    const done = await trx
      .selectFrom('point_operation')
      .select((eb) => eb.fn.sum<string>('amount').as('sum'))
      .where('tenant_id', '=', tenantId)
      .where('original_id', '=', original.id)
      .executeTakeFirst();
    const left = Math.abs(Number(original.amount)) - Math.abs(Number(done?.sum ?? 0));
    const amount = input.amount ?? left;
    if (left === 0 || amount > left) {
      throw new AppError(
        'OPERATION_NOT_CANCELLABLE',
        `${left} of ${Math.abs(Number(original.amount))} points are left to cancel.`,
        { why: 'exceeds_remaining', left, amount },
      );
    }
    const id = `pt.cancel.${input.cancelId}`;
    const sign = original.kind === 'use' ? 1 : -1;
    const row = await insertOperation(trx, tenantId, {
      id,
      member_id: original.member_id,
      kind: 'cancel',
      amount: sign * amount,
      original_id: original.id,
      order_id: null,
    });
    const result = posted(
      await inTransaction(trx).reverse({
        tenantId,
        id,
        transactionId: original.id,
        amounts: [amount],
        code: `${original.kind.toUpperCase()}_CANCEL`,
        reference: original.order_id ?? undefined,
      }),
      original.kind === 'use' ? 'cancel' : 'cancel-earn',
    );
    await enqueueEvent(trx, tenantId, {
      topic: 'points.cancelled',
      payload: { memberId: original.member_id, operationId: id, originalId: original.id, amount: sign * amount },
    });
    return toOperation(row, { balance: walletBalance(result, original.kind === 'use' ? 'credit' : 'debit') });
  });
}

/** An operator's adjustment, with a mandatory reason: a grant (new lot) or a deduction. */
export async function adjustPoints(
  deps: PointsWriteDeps,
  tenantId: string,
  input: {
    adjustmentId: string;
    memberId: string;
    amount: number;
    reason: string;
    actor?: string | undefined;
    expiresAt?: string | undefined;
  },
): Promise<TPointOperation> {
  requireAmounts(deps.config, { amount: input.amount });
  const id = `pt.adjust.${input.adjustmentId}`;
  if (input.amount > 0) {
    await memberGrade(deps, tenantId, input.memberId);
    return grantPoints(deps, tenantId, {
      id,
      kind: 'adjust',
      code: 'ADJUST',
      memberId: input.memberId,
      amount: input.amount,
      reason: input.reason,
      actor: input.actor,
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : undefined,
    });
  }
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    await memberGrade(d, tenantId, input.memberId);
    const [wallet, issuance] = [
      await pointWallet(d, tenantId, input.memberId),
      await systemAccount(d, tenantId, POINT, 'issuance'),
    ];
    const row = await insertOperation(trx, tenantId, {
      id,
      member_id: input.memberId,
      kind: 'adjust',
      amount: input.amount,
      reason: input.reason,
      actor: input.actor ?? null,
    });
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'ADJUST',
        memo: input.reason,
        legs: [{ debit: wallet.id, credit: issuance.id, amount: -input.amount, ledger: POINT }],
      }),
      'debit',
    );
    return toOperation(row, { balance: walletBalance(result, 'debit') });
  });
}

export async function pointBalance(deps: PointsDeps, tenantId: string, memberId: string) {
  await memberGrade(deps, tenantId, memberId);
  const wallet = await pointWallet(deps, tenantId, memberId);
  const lots = await accountLots(deps, tenantId, wallet.id);
  const soon = await expiringWithin(deps, tenantId, 30, { accountId: wallet.id });
  return {
    memberId,
    accountId: wallet.id,
    balance: wallet.balance.posted,
    available: wallet.balance.available,
    expiringWithin30Days: soon[0]?.amount ?? 0,
    lots: lots.map((l) => ({ amount: l.amount, remaining: l.remaining, expiresAt: l.expiresAt })),
  };
}

/** A member's point operations, newest first; the cursor is the last item's id. */
export async function pointOperations(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  memberId: string,
  page: { limit: number; cursor?: string | undefined },
) {
  await requireMember(deps, tenantId, memberId);
  let q = deps.db.selectFrom('point_operation').selectAll().where('tenant_id', '=', tenantId).where('member_id', '=', memberId);
  if (page.cursor) {
    const at = await deps.db
      .selectFrom('point_operation')
      .select(['created_at', 'id'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', page.cursor)
      .executeTakeFirst();
    if (!at) throw new AppError('VALIDATION_FAILED', 'Invalid cursor.');
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', at.created_at), eb.and([eb('created_at', '=', at.created_at), eb('id', '<', at.id)])]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit).map((r) => toOperation(r));
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)!.id : null };
}

/**
 * The notice job: per member wallet with points expiring within `days` (default 30), one
 * points.expiring event per first expiry (so a member hears once, not every run).
 */
export async function sendExpiryNotices(deps: PointsDeps, options: { tenantId?: string; days?: number } = {}): Promise<number> {
  const tenants = options.tenantId
    ? [options.tenantId]
    : (await deps.db.selectFrom('point_operation').select('tenant_id').distinct().execute()).map((r) => r.tenant_id);
  let sent = 0;
  for (const tenantId of tenants) {
    for (const due of await expiringWithin(deps, tenantId, options.days ?? 30, { ledger: POINT })) {
      if (due.ownerType !== 'member') continue;
      await withTransaction(deps.db, async (trx) => {
        const fresh = await trx
          .insertInto('point_expiry_notice')
          .values({ tenant_id: tenantId, account_id: due.accountId, first_expiry: new Date(due.firstExpiry) })
          .onConflict((oc) => oc.doNothing())
          .returning('account_id')
          .executeTakeFirst();
        if (!fresh) return;
        await enqueueEvent(trx, tenantId, {
          topic: 'points.expiring',
          payload: { memberId: due.ownerId, amount: due.amount, firstExpiry: due.firstExpiry },
        });
        sent++;
      });
    }
  }
  return sent;
}

/** The outbox handler for member.points_imported: opening lots of an imported member, once each. */
export async function importOpeningLots(deps: PointsDeps, message: OutboxMessage): Promise<void> {
  const p = message.payload as {
    memberId: string;
    importId: string;
    row: number;
    lots: { amount: number; expiresAt: string | null }[];
  };
  for (const [i, lot] of p.lots.entries()) {
    const id = `pt.import.${p.importId}.${p.row}.${i}`;
    const exists = await deps.db
      .selectFrom('point_operation')
      .select('id')
      .where('tenant_id', '=', message.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (exists) continue;
    await grantPoints(deps, message.tenantId, {
      id,
      kind: 'import',
      code: 'IMPORT',
      memberId: p.memberId,
      amount: lot.amount,
      reason: `member import ${p.importId}, row ${p.row}`,
      expiresAt: lot.expiresAt ? new Date(lot.expiresAt) : undefined,
    });
  }
}

/** Registers this module's outbox handlers on a worker. */
export function registerPointHandlers(deps: PointsDeps & Pick<Deps, 'outbox'>): void {
  deps.outbox.register('member.points_imported', 'points.opening-lots', (m) => importOpeningLots(deps, m));
}

/** The store an operation was made at (null: none, or no such operation): a store-bound caller's cancel. */
export async function operationStore(deps: Pick<Deps, 'db'>, tenantId: string, operationId: string): Promise<string | null> {
  const row = await deps.db
    .selectFrom('point_operation')
    .select('store_id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', operationId)
    .executeTakeFirst();
  return row?.store_id ?? null;
}
