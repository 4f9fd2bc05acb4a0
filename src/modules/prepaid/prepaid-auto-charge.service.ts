import { sql } from 'kysely';
import { requireAmounts } from '../../platform/amounts.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { piiFor } from '../../platform/pii.ts';
import { getTenant } from '../tenants/index.ts';
import { nextMonthlyDue, nextRetry } from './prepaid.rules.ts';
import type { TAutoCharge, TAutoChargeRequest } from './prepaid.schemas.ts';
import {
  available,
  type ChargePayment,
  lockCard,
  payForCharge,
  postCharge,
  programSettings,
  refundPayment,
} from './prepaid.service.ts';
import type { PrepaidAutoChargeRow } from './prepaid.tables.ts';

// Auto-charge (자동충전): a card charges itself with the member's payment token (billing key, kept
// sealed) when a payment leaves it below a threshold, or monthly on a day. A threshold charge is
// triggered in the payment's own transaction (an outbox message runs it right after commit); the
// job runs what is due and retries failures after the program's waits. After the program's
// maximum of consecutive failures it is turned off, with a notice. The charge id of an attempt is
// `auto.<card>.<n>` where n counts successful auto charges: a retried or repeated run reuses it, so
// one due charge is never charged twice.

type AutoChargeDeps = Pick<Deps, 'db' | 'clock' | 'masterKey' | 'providers' | 'config'>;
export type AutoChargeOutcome = 'charged' | 'failed' | 'disabled' | 'skipped' | 'not_due' | 'not_needed';

async function toAutoCharge(db: Db, r: PrepaidAutoChargeRow): Promise<TAutoCharge> {
  const attempts = await db
    .selectFrom('prepaid_auto_charge_attempt')
    .selectAll()
    .where('tenant_id', '=', r.tenant_id)
    .where('card_id', '=', r.card_id)
    .orderBy('attempted_at', 'desc')
    .limit(20)
    .execute();
  return {
    cardId: r.card_id,
    kind: r.kind,
    threshold: r.threshold === null ? null : Number(r.threshold),
    dayOfMonth: r.day_of_month,
    amount: Number(r.amount),
    paymentMethod: r.payment_method,
    tokenLast4: r.token_last4,
    enabled: r.enabled,
    failures: r.failures,
    nextAttemptAt: r.due_at?.toISOString() ?? null,
    lastError: r.last_error,
    disabledReason: r.disabled_reason as TAutoCharge['disabledReason'],
    attempts: attempts.map((a) => ({
      attemptedAt: a.attempted_at.toISOString(),
      chargeId: a.charge_id,
      amount: Number(a.amount),
      outcome: a.outcome,
      errorCode: a.error_code,
      errorMessage: a.error_message,
    })),
  };
}

/** Turns auto-charge on for a member's card (or changes it): the failure count starts again. */
export async function setAutoCharge(
  deps: AutoChargeDeps,
  tenantId: string,
  memberId: string,
  cardId: string,
  input: TAutoChargeRequest,
): Promise<TAutoCharge> {
  requireAmounts(deps.config, { amount: input.amount, threshold: input.kind === 'threshold' ? input.threshold : undefined });
  return withTransaction(deps.db, async (trx) => {
    const card = await lockCard(trx, tenantId, cardId, memberId);
    const s = await programSettings({ db: trx }, tenantId);
    if (input.amount < s.minCharge || input.amount % s.chargeUnit !== 0 || input.amount > s.maxBalance) {
      throw new AppError(
        'PREPAID_LIMIT_EXCEEDED',
        `Charges are from ${s.minCharge} in multiples of ${s.chargeUnit}, up to ${s.maxBalance}.`,
        {
          amount: input.amount,
          minCharge: s.minCharge,
          chargeUnit: s.chargeUnit,
          maxBalance: s.maxBalance,
        },
      );
    }
    const now = deps.clock.now();
    const threshold = input.kind === 'threshold' ? input.threshold : null;
    const dayOfMonth = input.kind === 'monthly' ? input.dayOfMonth : null;
    const dueAt =
      dayOfMonth !== null
        ? nextMonthlyDue(now, dayOfMonth, (await getTenant({ db: trx }, tenantId)).timeZone)
        : (await available(trx, card)) < threshold!
          ? now
          : null;
    const values = {
      member_id: memberId,
      kind: input.kind,
      threshold,
      day_of_month: dayOfMonth,
      amount: input.amount,
      payment_method: input.payment.method,
      token_sealed: piiFor(deps.masterKey).seal(input.payment.token),
      token_last4: input.payment.token.slice(-4),
      enabled: true,
      failures: 0,
      due_at: dueAt,
      last_error: null,
      disabled_reason: null,
      updated_at: now,
    };
    // `charges` is kept: it numbers the charge ids, which must never repeat.
    const row = await trx
      .insertInto('prepaid_auto_charge')
      .values({ tenant_id: tenantId, card_id: cardId, ...values })
      .onConflict((oc) => oc.columns(['tenant_id', 'card_id']).doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow();
    if (dueAt && dueAt <= now) await enqueueEvent(trx, tenantId, { topic: 'prepaid.auto_charge_due', payload: { cardId } });
    return toAutoCharge(trx, row);
  });
}

async function ownRow(db: Db, tenantId: string, memberId: string, cardId: string): Promise<PrepaidAutoChargeRow> {
  const row = await db
    .selectFrom('prepaid_auto_charge')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('card_id', '=', cardId)
    .executeTakeFirst();
  if (!row || row.member_id !== memberId) throw new AppError('NOT_FOUND', `Card ${cardId} has no auto-charge.`);
  return row;
}

/** The card's auto-charge setting and its last attempts. */
export async function autoChargeOf(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  memberId: string,
  cardId: string,
): Promise<TAutoCharge> {
  return toAutoCharge(deps.db, await ownRow(deps.db, tenantId, memberId, cardId));
}

/** Turns auto-charge off (the setting and its history stay). */
export async function turnOffAutoCharge(
  deps: AutoChargeDeps,
  tenantId: string,
  memberId: string,
  cardId: string,
): Promise<TAutoCharge> {
  return withTransaction(deps.db, async (trx) => {
    await ownRow(trx, tenantId, memberId, cardId);
    const row = await trx
      .updateTable('prepaid_auto_charge')
      .set({ enabled: false, disabled_reason: 'member', due_at: null, updated_at: deps.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', cardId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAutoCharge(trx, row);
  });
}

// While a run is calling the payment provider its row is not due for other runs; a run that died
// there is picked up again after this lease, under the same charge id.
const RUN_LEASE_MS = 5 * 60_000;

/**
 * Runs one card's auto-charge if it is due, in three steps (no transaction is open while the payment
 * provider is called): a short transaction claims the row (SKIP LOCKED) and moves its due time a
 * lease ahead; payForCharge records and pays the charge `auto.<card>.<n>`; a second transaction
 * posts it (postCharge) with the counter n, or records the failure, schedules the retry and, at
 * the limit, turns auto-charge off with a notice. A run that stopped after the payment leaves the
 * charge pending and n unchanged: the next run pays under the same id, which the provider answers
 * with the payment already made, and posts it once.
 */
export async function runAutoCharge(deps: AutoChargeDeps, tenantId: string, cardId: string): Promise<AutoChargeOutcome> {
  if (deps.db.isTransaction) throw new Error('runAutoCharge calls the payment provider: it must not run inside a transaction');
  const now = deps.clock.now();
  const claim = await withTransaction(deps.db, async (trx) => {
    // Another process running this card's charge holds the row: it is not due for us.
    const row = await trx
      .selectFrom('prepaid_auto_charge')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', cardId)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!row?.enabled || !row.due_at || row.due_at > now) return 'not_due' as const;
    const card = await lockCard(trx, tenantId, cardId, undefined, { active: false });
    if (row.threshold !== null && (await available(trx, card)) >= Number(row.threshold)) {
      await trx
        .updateTable('prepaid_auto_charge')
        .set({ due_at: null, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('card_id', '=', cardId)
        .execute();
      return 'not_needed' as const;
    }
    await trx
      .updateTable('prepaid_auto_charge')
      .set({ due_at: new Date(now.getTime() + RUN_LEASE_MS), updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', cardId)
      .execute();
    return row;
  });
  if (typeof claim === 'string') return claim;

  const chargeId = `auto.${cardId}.${claim.charges + 1}`;
  const amount = Number(claim.amount);
  const input = {
    chargeId,
    cardId,
    amount,
    channel: 'app',
    memberId: claim.member_id,
    payment: {
      method: claim.payment_method,
      token: piiFor(deps.masterKey).open<string>(claim.token_sealed),
      tokenKind: 'billing_key' as const,
    },
  };
  let paid: ChargePayment | AppError;
  try {
    paid = await payForCharge(deps, tenantId, input);
  } catch (err) {
    if (!isAppError(err) || err.status >= 500) throw err;
    paid = err;
  }

  return withTransaction(deps.db, async (trx) => {
    const row = await trx
      .selectFrom('prepaid_auto_charge')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', cardId)
      .forUpdate()
      .executeTakeFirst();
    // Another run posted this charge id meanwhile (the counter moved on): nothing is left to do.
    if (!row || row.charges !== claim.charges) return 'not_due';
    const nextMonthly = async () =>
      row.day_of_month === null ? null : nextMonthlyDue(now, row.day_of_month, (await getTenant({ db: trx }, tenantId)).timeZone);
    const update = (set: Partial<Omit<PrepaidAutoChargeRow, 'tenant_id' | 'card_id'>>) =>
      trx
        .updateTable('prepaid_auto_charge')
        .set({ ...set, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('card_id', '=', cardId)
        .execute();
    const attempt = (outcome: 'charged' | 'failed' | 'disabled' | 'skipped', error?: AppError) =>
      trx
        .insertInto('prepaid_auto_charge_attempt')
        .values({
          tenant_id: tenantId,
          card_id: cardId,
          attempted_at: now,
          charge_id: chargeId,
          amount,
          outcome,
          error_code: error?.code ?? null,
          error_message: error?.message ?? null,
        })
        .execute();
    await sql`savepoint moa_auto_charge`.execute(trx);
    try {
      if (paid instanceof AppError) throw paid;
      // Paid money is posted even if auto-charge was turned off meanwhile.
      await postCharge({ ...deps, db: trx }, tenantId, input, paid);
      await update({ failures: 0, charges: row.charges + 1, last_error: null, due_at: row.enabled ? await nextMonthly() : null });
      await attempt('charged');
      return 'charged';
    } catch (err) {
      if (!isAppError(err) || err.status >= 500) throw err;
      await sql`rollback to savepoint moa_auto_charge`.execute(trx);
      // A full card is not the member's failure: this charge is skipped, the next one stands.
      if (err.code === 'PREPAID_LIMIT_EXCEEDED') {
        await update({ due_at: await nextMonthly(), last_error: `${err.code}: ${err.message}` });
        await attempt('skipped', err);
        return 'skipped';
      }
      const failures = row.failures + 1;
      const retryAt = nextRetry(now, failures, (await programSettings({ db: trx }, tenantId)).autoCharge);
      await update({
        failures,
        last_error: `${err.code}: ${err.message}`,
        due_at: retryAt,
        ...(retryAt ? {} : { enabled: false, disabled_reason: 'failures' }),
      });
      await attempt(retryAt ? 'failed' : 'disabled', err);
      await enqueueEvent(trx, tenantId, {
        topic: retryAt ? 'prepaid.auto_charge_failed' : 'prepaid.auto_charge_disabled',
        payload: {
          cardId,
          memberId: row.member_id,
          chargeId,
          amount,
          failures,
          code: err.code,
          message: err.message,
          nextAttemptAt: retryAt?.toISOString() ?? null,
        },
      });
      return retryAt ? 'failed' : 'disabled';
    }
  });
}

/** The job: runs every auto-charge that is due (monthly dates, retries, threshold charges whose message was lost). */
export async function runDueAutoCharges(
  deps: AutoChargeDeps,
  options: { limit?: number } = {},
): Promise<Partial<Record<AutoChargeOutcome, number>>> {
  const due = await deps.db
    .selectFrom('prepaid_auto_charge')
    .select(['tenant_id', 'card_id'])
    .where('enabled', '=', true)
    .where('due_at', '<=', deps.clock.now())
    .orderBy('due_at')
    .limit(options.limit ?? 200)
    .execute();
  const counts: Partial<Record<AutoChargeOutcome, number>> = {};
  for (const d of due) {
    const outcome = await runAutoCharge(deps, d.tenant_id, d.card_id);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

export function registerPrepaidHandlers(deps: AutoChargeDeps & Pick<Deps, 'outbox'>): void {
  deps.outbox.register('prepaid.payment_refund', 'prepaid.refund-payment', refundPayment(deps));
  deps.outbox.register(
    'prepaid.auto_charge_due',
    'prepaid.auto-charge',
    async (m) => void (await runAutoCharge(deps, m.tenantId, (m.payload as { cardId: string }).cardId)),
  );
}

/** The columns of this module that hold sealed personal data (for key rotation). */
export const PREPAID_SEALED_COLUMNS = [
  { table: 'prepaid_operation', keys: ['tenant_id', 'id'], column: 'bank_sealed', domain: 'pii' },
  { table: 'prepaid_auto_charge', keys: ['tenant_id', 'card_id'], column: 'token_sealed', domain: 'pii' },
] as const;
