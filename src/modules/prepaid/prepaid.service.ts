import { requireAmounts } from '../../platform/amounts.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, cancelIdUsed, fieldError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { claimAttempt, type LimitDeps, limitSecretCheck, resetAttempts } from '../../platform/limits.ts';
import type { OutboxMessage } from '../../platform/outbox.ts';
import { cut, pageOf, type TPageQuery } from '../../platform/pages.ts';
import { hashPassword, verifyPasswordOrDummy } from '../../platform/passwords.ts';
import { piiFor } from '../../platform/pii.ts';
import {
  balanceAsOf,
  getAccount,
  inTransaction,
  type LedgerRejection,
  openAccount,
  type PostResult,
  systemAccount,
} from '../ledger/index.ts';
import { requireActiveMember, requireMember } from '../members/index.ts';
import { requireStore } from '../stores/index.ts';
import { isOfflinePaymentMethod, type PaymentMethodName } from './prepaid.provider.ts';
import * as prepaidRepo from './prepaid.repository.ts';
import { refundPreview } from './prepaid.rules.ts';
import {
  type TCard,
  type TChargeResult,
  type TOperation,
  type TPrepaidSettings,
  type TRefundPreview,
  ZPrepaidSettings,
} from './prepaid.schemas.ts';
import type { PrepaidCardRow, PrepaidChargePaymentRow, PrepaidOperationRow } from './prepaid.tables.ts';
import { applyPromotions, revokePromotions } from './prepaid-promotions.service.ts';

// Prepaid cards move value only through the ledger (ledger PREPAID): each card is an account that
// never goes below zero; charges come from the tenant's float account, uses and refund fees go to
// its revenue account. Every write locks its card row first, so the program's own limits (maximum
// balance, refund rule) are judged on a balance nobody else is changing; the ledger enforces the
// balance itself. Operation ids come from the caller (charge id, order number, …): a retry never
// applies twice, with or without the Idempotency-Key.

type PrepaidDeps = Pick<Deps, 'db' | 'clock' | 'config'>;
export const PREPAID = 'PREPAID';

export async function programSettings(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TPrepaidSettings> {
  const row = await deps.db.selectFrom('prepaid_program').select('settings').where('tenant_id', '=', tenantId).executeTakeFirst();
  return ZPrepaidSettings.parse(row?.settings ?? {});
}

export async function setProgramSettings(
  deps: Pick<Deps, 'db' | 'config'>,
  tenantId: string,
  settings: TPrepaidSettings,
): Promise<TPrepaidSettings> {
  requireAmounts(deps.config, {
    minCharge: settings.minCharge,
    chargeUnit: settings.chargeUnit,
    maxBalance: settings.maxBalance,
    'refund.fee': settings.refund.fee,
  });
  await deps.db
    .insertInto('prepaid_program')
    .values({ tenant_id: tenantId, settings: JSON.stringify(settings) })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ settings: JSON.stringify(settings), updated_at: new Date() }))
    .execute();
  return settings;
}

async function toCard(deps: Pick<Deps, 'db'>, r: PrepaidCardRow): Promise<TCard> {
  const account = await getAccount(deps, r.tenant_id, r.account_id);
  return {
    id: r.id,
    memberId: r.member_id,
    accountId: r.account_id,
    nickname: r.nickname,
    status: r.status,
    main: r.is_main,
    physical: r.number_hash !== null,
    numberLast4: r.number_last4,
    balance: account.balance.available,
    createdAt: r.created_at.toISOString(),
  };
}

const toOperation = (r: PrepaidOperationRow, balance?: number | null): TOperation => ({
  id: r.id,
  cardId: r.card_id,
  kind: r.kind,
  amount: Number(r.amount),
  toCardId: r.to_card_id,
  orderId: r.order_id,
  originalId: r.original_id,
  channel: r.channel,
  storeId: r.store_id,
  fee: Number(r.fee),
  cancelled: r.cancelled,
  ...(typeof balance === 'number' ? { balance } : {}),
  createdAt: r.created_at.toISOString(),
});

async function insertCard(
  db: Db,
  tenantId: string,
  card: { memberId: string | null; nickname: string; main: boolean; numberHash?: string; last4?: string; pinHash?: string },
) {
  const id = newId('ppc');
  const account = await openAccount({ db }, tenantId, {
    ledger: PREPAID,
    ownerType: 'prepaid_card',
    ownerId: id,
    kind: 'card',
    debitsMustNotExceedCredits: true,
  });
  return db
    .insertInto('prepaid_card')
    .values({
      tenant_id: tenantId,
      id,
      member_id: card.memberId,
      account_id: account.id,
      nickname: card.nickname,
      is_main: card.main,
      number_hash: card.numberHash ?? null,
      number_last4: card.last4 ?? null,
      pin_hash: card.pinHash ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

const hasMain = async (db: Db, tenantId: string, memberId: string) =>
  (await db
    .selectFrom('prepaid_card')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .where('is_main', '=', true)
    .executeTakeFirst()) !== undefined;

/** A new mobile card for a member; the first one is the main card. */
export async function openCard(deps: PrepaidDeps, tenantId: string, memberId: string, nickname = ''): Promise<TCard> {
  return withTransaction(deps.db, async (trx) => {
    await requireActiveMember({ db: trx }, tenantId, memberId);
    const row = await insertCard(trx, tenantId, { memberId, nickname, main: !(await hasMain(trx, tenantId, memberId)) });
    return toCard({ db: trx }, row);
  });
}

/** A member's cards for /v1/members/{id}/prepaid/cards: NOT_FOUND for an unknown member. */
/** A page of a member's cards, oldest first (NOT_FOUND for an unknown member); `status` narrows them. */
export async function memberCards(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  memberId: string,
  page: TPageQuery & { status?: TCard['status'] | undefined },
): Promise<{ items: TCard[]; nextCursor: string | null }> {
  await requireMember(deps, tenantId, memberId);
  const { rows, nextCursor } = cut(await cardRows(deps.db, tenantId, memberId, page), page.limit);
  return { items: await Promise.all(rows.map((r) => toCard(deps, r))), nextCursor };
}

/** Every card of the member (a checkout's choice of cards), oldest first. */
export async function listCards(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string): Promise<TCard[]> {
  return Promise.all((await cardRows(deps.db, tenantId, memberId)).map((r) => toCard(deps, r)));
}

const cardRows = (db: Db, tenantId: string, memberId: string, page?: TPageQuery & { status?: TCard['status'] | undefined }) =>
  db
    .selectFrom('prepaid_card')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .$if(page?.status !== undefined, (q) => q.where('status', '=', page!.status!))
    .$if(page?.cursor !== undefined, (q) => q.where('id', '>', page!.cursor!))
    .orderBy('id')
    .$if(page !== undefined, (q) => q.limit(page!.limit + 1))
    .execute();

/** The card, locked for the rest of the transaction; a member's own when memberId is given. */
export async function lockCard(
  db: Db,
  tenantId: string,
  cardId: string,
  memberId?: string,
  options: { active?: boolean } = {},
): Promise<PrepaidCardRow> {
  const row = await db
    .selectFrom('prepaid_card')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', cardId)
    .forUpdate()
    .executeTakeFirst();
  if (!row || (memberId !== undefined && row.member_id !== memberId))
    throw new AppError('NOT_FOUND', `No prepaid card ${cardId}.`);
  if (options.active !== false && row.status !== 'active')
    throw new AppError('CARD_NOT_ACTIVE', `Card ${cardId} is ${row.status}.`, { cardId, status: row.status });
  return row;
}

export const available = async (db: Db, card: PrepaidCardRow) =>
  (await getAccount({ db }, card.tenant_id, card.account_id)).balance.available;

/**
 * After a payment out of a card: when it left the balance below the card's auto-charge threshold,
 * the auto-charge becomes due and is run by an outbox handler right after commit (the job retries).
 */
async function autoChargeIfLow(
  trx: Db,
  now: Date,
  tenantId: string,
  cardId: string,
  balance: number | null | undefined,
): Promise<void> {
  if (typeof balance !== 'number') return;
  const due = await trx
    .updateTable('prepaid_auto_charge')
    .set({ due_at: now })
    .where('tenant_id', '=', tenantId)
    .where('card_id', '=', cardId)
    .where('enabled', '=', true)
    .where('kind', '=', 'threshold')
    .where('threshold', '>', balance)
    .where('due_at', 'is', null)
    .returning('card_id')
    .executeTakeFirst();
  if (due) await enqueueEvent(trx, tenantId, { topic: 'prepaid.auto_charge_due', payload: { cardId } });
}

/** Nickname, status (active, lost, suspended) or making it the main card. */
export async function updateCard(
  deps: PrepaidDeps,
  tenantId: string,
  memberId: string,
  cardId: string,
  patch: { nickname?: string | undefined; status?: PrepaidCardRow['status'] | undefined; main?: true | undefined },
): Promise<TCard> {
  return withTransaction(deps.db, async (trx) => {
    const card = await lockCard(trx, tenantId, cardId, memberId, { active: false });
    const set = {
      ...(patch.nickname !== undefined ? { nickname: patch.nickname } : {}),
      ...(patch.status ? { status: patch.status } : {}),
      ...(patch.main ? { is_main: true } : {}),
    };
    // An empty update is a no-op (the route refuses it first): an SQL SET needs a column.
    if (Object.keys(set).length === 0) return toCard({ db: trx }, card);
    if (patch.main)
      await trx
        .updateTable('prepaid_card')
        .set({ is_main: false })
        .where('tenant_id', '=', tenantId)
        .where('member_id', '=', memberId)
        .where('is_main', '=', true)
        .execute();
    const row = await trx
      .updateTable('prepaid_card')
      .set(set)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', cardId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCard({ db: trx }, row);
  });
}

/** A physical card in stock (number + PIN), to be sold and then registered by a member. */
export async function issuePhysicalCard(
  deps: PrepaidDeps & Pick<Deps, 'masterKey'>,
  tenantId: string,
  input: { number: string; pin: string },
): Promise<TCard> {
  const numberHash = piiFor(deps.masterKey).hash(tenantId, 'card-number', input.number);
  const pinHash = await hashPassword(input.pin);
  const row = await insertCard(deps.db, tenantId, {
    memberId: null,
    nickname: '',
    main: false,
    numberHash,
    last4: input.number.slice(-4),
    pinHash,
  });
  return toCard(deps, row);
}

const PIN_BY_CARD = 'card_pin.card';
const PIN_BY_MEMBER = 'card_pin.member';
const MEMBER_PIN_LOCKOUT_MS = 24 * 3_600_000;

/** A claimed PIN attempt (claimPinAttempt): registerPhysicalCard needs one, so no caller skips the limits. */
export type PinAttempt = { numberHash: string };

/**
 * Claims a PIN attempt before the write's transaction, so that a wrong PIN's rejection (rolled back
 * with that transaction) cannot roll the count back. Per card number (known or not: the same answers
 * either way), CARD_PIN_MAX_FAILURES in a row lock the card until the brand's server unlocks it; per
 * member, CARD_PIN_MAX_FAILURES_PER_MEMBER in a row lock the member's registrations for 24 hours.
 */
export async function claimPinAttempt(
  deps: PrepaidDeps & LimitDeps,
  tenantId: string,
  memberId: string,
  number: string,
  ip?: string,
): Promise<PinAttempt> {
  const now = deps.clock.now();
  const numberHash = piiFor(deps.masterKey).hash(tenantId, 'card-number', number);
  await limitSecretCheck(deps, tenantId, { kind: 'card_pin', credential: memberId, ip });
  const locked = (retryAfterSeconds?: number) =>
    new AppError(
      'CARD_PIN_LOCKED',
      'Too many wrong PINs: registering this card is locked.',
      retryAfterSeconds === undefined ? { until: 'unlocked' } : { retryAfterSeconds },
    );
  const byCard = await claimAttempt(
    deps.db,
    tenantId,
    PIN_BY_CARD,
    numberHash,
    { max: deps.config.limits.cardPinFailures, lockoutMs: null },
    now,
  );
  if (byCard.locked) throw locked();
  const byMember = await claimAttempt(
    deps.db,
    tenantId,
    PIN_BY_MEMBER,
    memberId,
    { max: deps.config.limits.cardPinFailuresPerMember, lockoutMs: MEMBER_PIN_LOCKOUT_MS },
    now,
  );
  if (byMember.locked) throw locked(byMember.retryAfterSeconds);
  return { numberHash };
}

/**
 * The member a physical card is registered to, found by the number's keyed hash (the counter's
 * identify): undefined for an unknown card, one nobody registered, or one that is not active (lost, suspended).
 */
export async function physicalCardHolder(
  deps: Pick<Deps, 'db' | 'masterKey'>,
  tenantId: string,
  number: string,
): Promise<{ memberId: string; cardId: string } | undefined> {
  const row = await prepaidRepo.physicalCardByNumberHash(
    deps.db,
    tenantId,
    piiFor(deps.masterKey).hash(tenantId, 'card-number', number),
  );
  return row?.member_id && row.status === 'active' ? { memberId: row.member_id, cardId: row.id } : undefined;
}

/** The brand's server lifts a card's PIN lock (the owner proved it is theirs, e.g. at a store). */
export async function unlockPhysicalCard(deps: PrepaidDeps, tenantId: string, cardId: string): Promise<TCard> {
  return withTransaction(deps.db, async (trx) => {
    const row = await lockCard(trx, tenantId, cardId, undefined, { active: false });
    if (!row.number_hash) throw new AppError('NOT_FOUND', `No physical card ${cardId}.`);
    await resetAttempts(trx, tenantId, PIN_BY_CARD, row.number_hash);
    return toCard({ db: trx }, row);
  });
}

/** A member registers a physical card by its number and PIN (after claimPinAttempt); its balance comes with it. */
export async function registerPhysicalCard(
  deps: PrepaidDeps,
  tenantId: string,
  memberId: string,
  input: { number: string; pin: string; nickname: string },
  attempt: PinAttempt,
): Promise<TCard> {
  const { numberHash } = attempt;
  return withTransaction(deps.db, async (trx) => {
    await requireActiveMember({ db: trx }, tenantId, memberId);
    const found = await trx
      .selectFrom('prepaid_card')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('number_hash', '=', numberHash)
      .forUpdate()
      .executeTakeFirst();
    const row = found?.pin_hash && found.member_id === null ? found : undefined;
    // An unknown or registered card is checked against a dummy hash: the same answer, the same work.
    const ok = await verifyPasswordOrDummy(input.pin, row?.pin_hash);
    if (!ok || !row)
      throw new AppError('CARD_PIN_INVALID', 'The card number or the PIN is wrong, or the card is registered already.');
    await resetAttempts(trx, tenantId, PIN_BY_CARD, numberHash);
    await resetAttempts(trx, tenantId, PIN_BY_MEMBER, memberId);
    const main = !(await hasMain(trx, tenantId, memberId));
    const updated = await trx
      .updateTable('prepaid_card')
      .set({ member_id: memberId, nickname: input.nickname, is_main: main })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCard({ db: trx }, updated);
  });
}

type NewOperation = Pick<PrepaidOperationRow, 'id' | 'card_id' | 'kind' | 'amount'> &
  Partial<Omit<PrepaidOperationRow, 'tenant_id' | 'created_at'>>;

async function insertOperation(db: Db, tenantId: string, op: NewOperation): Promise<PrepaidOperationRow> {
  const existing = await db
    .selectFrom('prepaid_operation')
    .select(['id', 'original_id'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', op.id)
    .executeTakeFirst();
  if (existing && op.kind.endsWith('_cancel')) throw cancelIdUsed(op.id, existing.original_id);
  if (existing) throw new AppError('ORDER_ALREADY_PROCESSED', `Operation ${op.id} exists already.`, { operationId: op.id });
  return db
    .insertInto('prepaid_operation')
    .values({
      member_id: null,
      to_card_id: null,
      order_id: null,
      original_id: null,
      channel: null,
      store_id: null,
      payment_method: null,
      payment_id: null,
      bank_sealed: null,
      ...op,
      tenant_id: tenantId,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

function prepaidRejection(r: LedgerRejection, why?: string): AppError {
  if (r.code === 'INSUFFICIENT_BALANCE') {
    return new AppError('INSUFFICIENT_PREPAID', `The card holds ${r.available}; ${r.amount} is needed.`, {
      available: r.available,
      amount: r.amount,
      ...(why ? { why } : {}),
    });
  }
  if (r.code === 'REVERSAL_EXCEEDS_ORIGINAL' || r.code === 'NOTHING_TO_REVERSE')
    return new AppError('OPERATION_NOT_CANCELLABLE', 'More would be cancelled than is left.', { why: 'exceeds_remaining' });
  return new AppError('CONFLICT', `The ledger rejected the operation: ${r.code}.`, { ...r });
}

function posted(result: PostResult, why?: string) {
  if (result.status === 'rejected') throw prepaidRejection(result.rejection, why);
  return result;
}

const system = (db: Db, tenantId: string, kind: 'float' | 'revenue') => systemAccount({ db }, tenantId, PREPAID, kind);

export type ChargeInput = {
  chargeId: string;
  cardId: string;
  amount: number;
  channel: string;
  storeId?: string | undefined;
  memberId?: string | undefined;
  /** `billing_key` for an auto-charge's stored key; otherwise the provider's id of a payment the person completed. */
  payment: { method: string; token: string; tokenKind?: 'billing_key' | 'payment' };
};

/** What payForCharge hands to postCharge: the approved payment of a recorded pending charge. */
export type ChargePayment = { operationId: string; paymentId: string | null };

const chargeOperationId = (chargeId: string) => `pp.charge.${chargeId}`;

/**
 * Step 1 and 2 of a charge, never inside a transaction (rule 2: the provider call may take seconds).
 * A short transaction checks the charge (store, card, minimum, unit, maximum balance counting the
 * card's other pending charges) and records it `pending` under its operation id; then the payment
 * provider approves it, outside any transaction. Money a store collects itself (cash) goes to no
 * provider. A decline is recorded and thrown (PAYMENT_DECLINED); a retry of the same charge id may
 * try again. A retry that finds the charge pending (a crash or an error after the provider's
 * answer) asks the provider again: the approval is repeatable by the payment's id (PortOne: the
 * completed payment is looked up again; a billing-key payment under the same id answers
 * ALREADY_PAID and is looked up), so nothing is charged twice.
 */
export async function payForCharge(
  deps: PrepaidDeps & Pick<Deps, 'providers'>,
  tenantId: string,
  input: ChargeInput,
): Promise<ChargePayment> {
  if (deps.db.isTransaction) throw new Error('payForCharge calls the payment provider: it must not run inside a transaction');
  requireAmounts(deps.config, { amount: input.amount });
  // Settlement and "cancel a charge at its own store" need the store of every store charge.
  if (input.channel === 'offline' && input.storeId === undefined)
    throw fieldError('storeId', 'is required for an offline charge', 'required');
  const offline = isOfflinePaymentMethod(input.payment.method);
  if (offline && input.channel !== 'offline')
    throw fieldError(
      'payment.method',
      `${input.payment.method} is collected by a store: only an offline charge with its storeId`,
      'invalid',
    );
  const id = chargeOperationId(input.chargeId);
  const tokenKind: PrepaidChargePaymentRow['token_kind'] = offline ? 'offline' : (input.payment.tokenKind ?? 'payment');
  const paymentRef = tokenKind === 'payment' ? input.payment.token : null;

  const card = await withTransaction(deps.db, async (trx) => {
    if (input.storeId !== undefined) await requireStore({ db: trx }, tenantId, input.storeId);
    const card = await lockCard(trx, tenantId, input.cardId, input.memberId);
    const existing = await trx
      .selectFrom('prepaid_operation')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (existing) throw new AppError('ORDER_ALREADY_PROCESSED', `Charge ${input.chargeId} exists already.`, { operationId: id });
    const recorded = await trx
      .selectFrom('prepaid_charge_payment')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    const same = (r: PrepaidChargePaymentRow) =>
      r.card_id === card.id &&
      Number(r.amount) === input.amount &&
      r.method === input.payment.method &&
      r.token_kind === tokenKind &&
      r.payment_ref === paymentRef &&
      r.channel === input.channel &&
      r.store_id === (input.storeId ?? null);
    // Only a pending charge's own retry may ask again; a declined one may be tried anew.
    if (recorded && recorded.status !== 'declined' && !same(recorded)) {
      throw new AppError('ORDER_ALREADY_PROCESSED', `Charge ${input.chargeId} is being processed with other details.`, {
        operationId: id,
        status: recorded.status,
      });
    }
    const s = await programSettings({ db: trx }, tenantId);
    const balance = await available(trx, card);
    const pending = await trx
      .selectFrom('prepaid_charge_payment')
      .select((eb) => eb.fn.sum<string>('amount').as('sum'))
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', card.id)
      .where('status', '=', 'pending')
      .where('id', '<>', id)
      .executeTakeFirst();
    const pendingAmount = Number(pending?.sum ?? 0);
    if (
      input.amount < s.minCharge ||
      input.amount % s.chargeUnit !== 0 ||
      balance + pendingAmount + input.amount > s.maxBalance
    ) {
      throw new AppError(
        'PREPAID_LIMIT_EXCEEDED',
        `Charges are from ${s.minCharge} in multiples of ${s.chargeUnit}, up to a balance of ${s.maxBalance}.`,
        {
          amount: input.amount,
          balance,
          ...(pendingAmount > 0 ? { pending: pendingAmount } : {}),
          minCharge: s.minCharge,
          chargeUnit: s.chargeUnit,
          maxBalance: s.maxBalance,
        },
      );
    }
    const values = {
      card_id: card.id,
      amount: input.amount,
      method: input.payment.method,
      token_kind: tokenKind,
      payment_ref: paymentRef,
      channel: input.channel,
      store_id: input.storeId ?? null,
      status: 'pending' as const,
      payment_id: null,
      reason: null,
      updated_at: deps.clock.now(),
    };
    if (recorded)
      await trx
        .updateTable('prepaid_charge_payment')
        .set(values)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    else
      await trx
        .insertInto('prepaid_charge_payment')
        .values({ tenant_id: tenantId, id, ...values })
        .execute();
    return card;
  });

  if (offline) return { operationId: id, paymentId: null };
  // The configured provider (PAYMENT_PROVIDER), never a module-level default; no transaction is open.
  const paid = await deps.providers.payment.approve({
    tenantId,
    paymentId: id,
    orderName: 'Prepaid charge',
    amount: input.amount,
    currency: 'KRW',
    method: input.payment.method as PaymentMethodName,
    token: { kind: tokenKind === 'billing_key' ? 'billing_key' : 'payment', value: input.payment.token },
    customerId: card.member_id ?? undefined,
  });
  if (!paid.approved) {
    await deps.db
      .updateTable('prepaid_charge_payment')
      .set({ status: 'declined', reason: paid.reason, updated_at: deps.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    throw new AppError('PAYMENT_DECLINED', `The payment was declined: ${paid.reason}.`, { reason: paid.reason });
  }
  return { operationId: id, paymentId: paid.paymentId };
}

/**
 * Step 3 of a charge, in one transaction (the idempotent route's own): posts the approved payment's
 * value (float → card) and marks the charge approved. The limits were judged before paying: money
 * the person paid is posted even if the card was suspended meanwhile. Exactly once: the charge's
 * row is locked and must still be pending.
 */
export async function postCharge(
  deps: PrepaidDeps,
  tenantId: string,
  input: ChargeInput,
  payment: ChargePayment,
): Promise<TChargeResult> {
  return withTransaction(deps.db, async (trx) => {
    const id = payment.operationId;
    const card = await lockCard(trx, tenantId, input.cardId, input.memberId, { active: false });
    const recorded = await trx
      .selectFrom('prepaid_charge_payment')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (recorded?.status !== 'pending' || recorded.card_id !== card.id) {
      throw new AppError('ORDER_ALREADY_PROCESSED', `Charge ${input.chargeId} exists already.`, { operationId: id });
    }
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: card.id,
      member_id: card.member_id,
      kind: 'charge',
      amount: Number(recorded.amount),
      channel: recorded.channel,
      store_id: recorded.store_id,
      payment_method: recorded.method,
      payment_id: payment.paymentId,
    });
    const amount = Number(recorded.amount);
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'CHARGE',
        reference: input.chargeId,
        legs: [{ debit: (await system(trx, tenantId, 'float')).id, credit: card.account_id, amount, ledger: PREPAID }],
      }),
    );
    await trx
      .updateTable('prepaid_charge_payment')
      .set({ status: 'approved', payment_id: payment.paymentId, updated_at: deps.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
    const promotions = card.member_id
      ? await applyPromotions({ ...deps, db: trx }, tenantId, {
          chargeId: input.chargeId,
          operationId: id,
          memberId: card.member_id,
          amount,
          channel: recorded.channel,
        })
      : [];
    await enqueueEvent(trx, tenantId, {
      topic: 'prepaid.charged',
      payload: { cardId: card.id, memberId: card.member_id, operationId: id, amount, promotions },
    });
    return { ...toOperation(row, result.balances[0]?.credit), promotions };
  });
}

/**
 * Charges a card: payForCharge (checked and recorded, then approved by the payment provider outside
 * any transaction), then postCharge. Checked: minimum, unit and maximum balance
 * (PREPAID_LIMIT_EXCEEDED), or PAYMENT_DECLINED with the provider's reason (no value is posted).
 * Routes run the two steps through idempotentSteps, so the response is stored with the posting.
 */
export async function chargeCard(
  deps: PrepaidDeps & Pick<Deps, 'providers'>,
  tenantId: string,
  input: ChargeInput,
): Promise<TChargeResult> {
  return postCharge(deps, tenantId, input, await payForCharge(deps, tenantId, input));
}

/** Pays an order from a card (one use per order). */
export async function useCard(
  deps: PrepaidDeps,
  tenantId: string,
  input: { orderId: string; cardId: string; amount: number; channel: string; storeId?: string | undefined },
): Promise<TOperation> {
  requireAmounts(deps.config, { amount: input.amount });
  return withTransaction(deps.db, async (trx) => {
    if (input.storeId !== undefined) await requireStore({ db: trx }, tenantId, input.storeId);
    const card = await lockCard(trx, tenantId, input.cardId);
    const id = `pp.use.${input.orderId}`;
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: card.id,
      member_id: card.member_id,
      kind: 'use',
      amount: -input.amount,
      order_id: input.orderId,
      channel: input.channel,
      store_id: input.storeId ?? null,
    });
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'USE',
        reference: input.orderId,
        legs: [
          { debit: card.account_id, credit: (await system(trx, tenantId, 'revenue')).id, amount: input.amount, ledger: PREPAID },
        ],
      }),
    );
    await enqueueEvent(trx, tenantId, {
      topic: 'prepaid.used',
      payload: { cardId: card.id, memberId: card.member_id, operationId: id, amount: input.amount },
    });
    await autoChargeIfLow(trx, deps.clock.now(), tenantId, card.id, result.balances[0]?.debit);
    return toOperation(row, result.balances[0]?.debit);
  });
}

async function lockOperation(
  db: Db,
  tenantId: string,
  id: string,
  kind: PrepaidOperationRow['kind'],
): Promise<PrepaidOperationRow> {
  const row = await db
    .selectFrom('prepaid_operation')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No prepaid operation ${id}.`);
  if (row.kind !== kind)
    throw new AppError('OPERATION_NOT_CANCELLABLE', `Operation ${id} is a ${row.kind}, not a ${kind}.`, {
      why: 'kind',
      kind: row.kind,
    });
  return row;
}

/** Cancels a use in full or in part: the amount returns to the card. */
export async function cancelUse(
  deps: PrepaidDeps,
  tenantId: string,
  input: { cancelId: string; operationId: string; amount?: number | undefined },
): Promise<TOperation> {
  return withTransaction(deps.db, async (trx) => {
    const original = await lockOperation(trx, tenantId, input.operationId, 'use');
    await lockCard(trx, tenantId, original.card_id, undefined, { active: false });
    const done = await trx
      .selectFrom('prepaid_operation')
      .select((eb) => eb.fn.sum<string>('amount').as('sum'))
      .where('tenant_id', '=', tenantId)
      .where('original_id', '=', original.id)
      .executeTakeFirst();
    const left = -Number(original.amount) - Number(done?.sum ?? 0);
    const amount = input.amount ?? left;
    if (left === 0 || amount > left)
      throw new AppError('OPERATION_NOT_CANCELLABLE', `${left} is left to cancel of this use.`, {
        why: 'exceeds_remaining',
        left,
        amount,
      });
    const id = `pp.use-cancel.${input.cancelId}`;
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: original.card_id,
      member_id: original.member_id,
      kind: 'use_cancel',
      amount,
      original_id: original.id,
      order_id: original.order_id,
    });
    const result = posted(
      await inTransaction(trx).reverse({
        tenantId,
        id,
        transactionId: original.id,
        amounts: [amount],
        code: 'USE_CANCEL',
        reference: original.order_id ?? undefined,
      }),
    );
    return toOperation(row, result.balances[0]?.credit);
  });
}

/**
 * Cancels a charge, only in the channel where it was made (an app charge in the app, a store charge
 * at that store) and only while the card still holds it; the payment is refunded after commit.
 */
export async function cancelCharge(
  deps: PrepaidDeps,
  tenantId: string,
  input: { cancelId: string; chargeId: string; channel: string; storeId?: string | undefined; memberId?: string | undefined },
): Promise<TOperation> {
  return withTransaction(deps.db, async (trx) => {
    if (input.storeId !== undefined) await requireStore({ db: trx }, tenantId, input.storeId);
    const original = await lockOperation(trx, tenantId, `pp.charge.${input.chargeId}`, 'charge');
    if (input.memberId !== undefined && original.member_id !== input.memberId)
      throw new AppError('NOT_FOUND', `No prepaid operation pp.charge.${input.chargeId}.`);
    if (original.cancelled)
      throw new AppError('OPERATION_NOT_CANCELLABLE', 'The charge is cancelled already.', { why: 'cancelled' });
    if (original.channel !== input.channel || (original.channel === 'offline' && original.store_id !== (input.storeId ?? null))) {
      throw new AppError(
        'CHARGE_CANCEL_WRONG_CHANNEL',
        `The charge was made in ${original.channel}${original.store_id ? ` at store ${original.store_id}` : ''}: cancel it there.`,
        {
          chargeChannel: original.channel,
          chargeStoreId: original.store_id,
          channel: input.channel,
          storeId: input.storeId ?? null,
        },
      );
    }
    await lockCard(trx, tenantId, original.card_id, undefined, { active: false });
    const id = `pp.charge-cancel.${input.cancelId}`;
    const amount = Number(original.amount);
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: original.card_id,
      member_id: original.member_id,
      kind: 'charge_cancel',
      amount: -amount,
      original_id: original.id,
      channel: input.channel,
      store_id: input.storeId ?? null,
    });
    const result = posted(
      await inTransaction(trx).reverse({ tenantId, id, transactionId: original.id, code: 'CHARGE_CANCEL' }),
      'charge_already_used',
    );
    await trx
      .updateTable('prepaid_operation')
      .set({ cancelled: true })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', original.id)
      .execute();
    await revokePromotions({ ...deps, db: trx }, tenantId, original.id, input.cancelId);
    await enqueueEvent(trx, tenantId, {
      topic: 'prepaid.payment_refund',
      payload: { operationId: id, paymentId: original.payment_id, amount },
    });
    return toOperation(row, result.balances[0]?.debit);
  });
}

/** Gives another member an amount (to their main card, opened if they have none) or the card itself. */
export async function gift(
  deps: PrepaidDeps,
  tenantId: string,
  memberId: string,
  cardId: string,
  input: { giftId: string; toMemberId: string; amount?: number | undefined },
): Promise<TOperation> {
  if (input.toMemberId === memberId)
    throw new AppError('VALIDATION_FAILED', 'A gift goes to another member; move value between your own cards with a transfer.');
  requireAmounts(deps.config, { amount: input.amount });
  return withTransaction(deps.db, async (trx) => {
    const card = await lockCard(trx, tenantId, cardId, memberId);
    await requireActiveMember({ db: trx }, tenantId, input.toMemberId);
    const id = `pp.gift.${input.giftId}`;
    const recipientMain = await trx
      .selectFrom('prepaid_card')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('member_id', '=', input.toMemberId)
      .where('is_main', '=', true)
      .executeTakeFirst();
    if (input.amount === undefined) {
      // The card itself changes hands, with its balance.
      const row = await insertOperation(trx, tenantId, {
        id,
        card_id: card.id,
        member_id: memberId,
        kind: 'gift',
        amount: 0,
        to_card_id: card.id,
      });
      await trx
        .updateTable('prepaid_card')
        .set({ member_id: input.toMemberId, is_main: !recipientMain })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', card.id)
        .execute();
      // The giver's payment token must never charge the card again.
      await trx.deleteFrom('prepaid_auto_charge').where('tenant_id', '=', tenantId).where('card_id', '=', card.id).execute();
      await enqueueEvent(trx, tenantId, {
        topic: 'prepaid.gift_received',
        payload: { toMemberId: input.toMemberId, fromMemberId: memberId, cardId: card.id, operationId: id },
      });
      return toOperation(row, await available(trx, card));
    }
    const target = recipientMain ?? (await insertCard(trx, tenantId, { memberId: input.toMemberId, nickname: '', main: true }));
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: card.id,
      member_id: memberId,
      kind: 'gift',
      amount: -input.amount,
      to_card_id: target.id,
    });
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'GIFT',
        legs: [{ debit: card.account_id, credit: target.account_id, amount: input.amount, ledger: PREPAID }],
      }),
    );
    await enqueueEvent(trx, tenantId, {
      topic: 'prepaid.gift_received',
      payload: { toMemberId: input.toMemberId, fromMemberId: memberId, cardId: target.id, amount: input.amount, operationId: id },
    });
    await autoChargeIfLow(trx, deps.clock.now(), tenantId, card.id, result.balances[0]?.debit);
    return toOperation(row, result.balances[0]?.debit);
  });
}

/** Moves balance between two cards of the same member. */
export async function transfer(
  deps: PrepaidDeps,
  tenantId: string,
  memberId: string,
  input: { transferId: string; fromCardId: string; toCardId: string; amount: number },
): Promise<TOperation> {
  if (input.fromCardId === input.toCardId) throw new AppError('VALIDATION_FAILED', 'The two cards must differ.');
  requireAmounts(deps.config, { amount: input.amount });
  return withTransaction(deps.db, async (trx) => {
    // Locked in id order, so two opposite transfers cannot deadlock.
    const [a, b] = [input.fromCardId, input.toCardId].sort();
    const locked = new Map([
      [a!, await lockCard(trx, tenantId, a!, memberId)],
      [b!, await lockCard(trx, tenantId, b!, memberId)],
    ]);
    const from = locked.get(input.fromCardId)!;
    const to = locked.get(input.toCardId)!;
    const id = `pp.transfer.${input.transferId}`;
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: from.id,
      member_id: memberId,
      kind: 'transfer',
      amount: -input.amount,
      to_card_id: to.id,
    });
    const result = posted(
      await inTransaction(trx).post({
        tenantId,
        id,
        code: 'TRANSFER',
        legs: [{ debit: from.account_id, credit: to.account_id, amount: input.amount, ledger: PREPAID }],
      }),
    );
    await autoChargeIfLow(trx, deps.clock.now(), tenantId, from.id, result.balances[0]?.debit);
    return toOperation(row, result.balances[0]?.debit);
  });
}

async function refundState(db: Db, tenantId: string, card: PrepaidCardRow): Promise<TRefundPreview> {
  const last = await db
    .selectFrom('prepaid_operation')
    .select(['amount', 'created_at'])
    .where('tenant_id', '=', tenantId)
    .where('card_id', '=', card.id)
    .where('kind', '=', 'charge')
    .where('cancelled', '=', false)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const used = last
    ? await db
        .selectFrom('prepaid_operation')
        .select((eb) => eb.fn.sum<string>('amount').as('sum'))
        .where('tenant_id', '=', tenantId)
        .where('card_id', '=', card.id)
        .where('kind', 'in', ['use', 'use_cancel'])
        .where('created_at', '>=', last.created_at)
        .executeTakeFirst()
    : undefined;
  const settings = await programSettings({ db }, tenantId);
  return refundPreview(settings.refund, {
    balance: await available(db, card),
    lastChargeAmount: Number(last?.amount ?? 0),
    usedSinceLastCharge: -Number(used?.sum ?? 0),
  });
}

/** What a refund would pay out now, and what is still to be used first (shown before the member confirms). */
export async function previewRefund(
  deps: PrepaidDeps,
  tenantId: string,
  memberId: string,
  cardId: string,
): Promise<TRefundPreview> {
  return withTransaction(deps.db, async (trx) => refundState(trx, tenantId, await lockCard(trx, tenantId, cardId, memberId)));
}

/** Refunds the card's balance to a bank account under the refund rule: the fee and the remainder are posted exactly. */
export async function refund(
  deps: PrepaidDeps & Pick<Deps, 'masterKey'>,
  tenantId: string,
  memberId: string,
  cardId: string,
  input: { refundId: string; bank: { code: string; accountNumber: string; holder: string } },
): Promise<TOperation & { refund: TRefundPreview }> {
  return withTransaction(deps.db, async (trx) => {
    const card = await lockCard(trx, tenantId, cardId, memberId);
    const state = await refundState(trx, tenantId, card);
    if (!state.allowed) {
      throw new AppError(
        'REFUND_NOT_ALLOWED',
        state.amountStillToUse > 0
          ? `Use ${state.amountStillToUse} more of the last charge first.`
          : `The balance ${state.balance} does not cover the fee ${state.fee}.`,
        { ...state },
      );
    }
    const id = `pp.refund.${input.refundId}`;
    const row = await insertOperation(trx, tenantId, {
      id,
      card_id: card.id,
      member_id: memberId,
      kind: 'refund',
      amount: -state.balance,
      fee: state.fee,
      bank_sealed: piiFor(deps.masterKey).seal(input.bank),
    });
    const legs = [
      { debit: card.account_id, credit: (await system(trx, tenantId, 'float')).id, amount: state.refundAmount, ledger: PREPAID },
    ];
    if (state.fee > 0)
      legs.push({
        debit: card.account_id,
        credit: (await system(trx, tenantId, 'revenue')).id,
        amount: state.fee,
        ledger: PREPAID,
      });
    posted(await inTransaction(trx).post({ tenantId, id, code: 'REFUND', memo: `fee ${state.fee}`, legs }));
    // A refunded card must not be charged again behind the member's back.
    await trx
      .updateTable('prepaid_auto_charge')
      .set({ enabled: false, disabled_reason: 'refund', due_at: null, updated_at: deps.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', card.id)
      .where('enabled', '=', true)
      .execute();
    await enqueueEvent(trx, tenantId, {
      topic: 'prepaid.refund_requested',
      payload: { operationId: id, cardId: card.id, memberId, amount: state.refundAmount, fee: state.fee },
    });
    return { ...toOperation(row, 0), refund: state };
  });
}

/** A card's operations (its own and value it received), newest first. */
/** A page of a card's history, newest first (a gift received shows on the receiving card too). */
export async function cardOperations(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  cardId: string,
  memberId: string | undefined,
  page: TPageQuery,
): Promise<{ items: TOperation[]; nextCursor: string | null }> {
  const card = await deps.db
    .selectFrom('prepaid_card')
    .select('member_id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', cardId)
    .executeTakeFirst();
  if (!card || (memberId !== undefined && card.member_id !== memberId))
    throw new AppError('NOT_FOUND', `No prepaid card ${cardId}.`);
  const rows = await deps.db
    .selectFrom('prepaid_operation')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or([eb('card_id', '=', cardId), eb('to_card_id', '=', cardId)]))
    .$if(page.cursor !== undefined, (q) => q.where('id', '<', page.cursor!))
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, (r) =>
    r.card_id === cardId ? toOperation(r) : { ...toOperation(r), cardId, amount: -Number(r.amount) },
  );
}

/**
 * Outstanding prepaid value (선수금) as of an instant, exact to the ledger: what the float account
 * paid in, less what went to revenue, is what the cards hold (the ledger sums to zero).
 */
export async function liability(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  at: Date,
): Promise<{ at: string; outstanding: number }> {
  const [float, revenue] = [await system(deps.db, tenantId, 'float'), await system(deps.db, tenantId, 'revenue')];
  const outstanding = -((await balanceAsOf(deps, tenantId, float.id, at)) + (await balanceAsOf(deps, tenantId, revenue.id, at)));
  return { at: at.toISOString(), outstanding };
}

/** The outbox handler that refunds a cancelled charge's payment (at least once; refunds are keyed by operation). */
export const refundPayment =
  (deps: Pick<Deps, 'providers'>) =>
  async (message: OutboxMessage): Promise<void> => {
    const p = message.payload as { operationId: string; paymentId: string | null; amount: number };
    if (!p.paymentId) return;
    await deps.providers.payment.cancel({
      tenantId: message.tenantId,
      paymentId: p.paymentId,
      amount: p.amount,
      reason: 'Prepaid charge cancelled',
      cancellationId: p.operationId,
    });
  };

/** The store an operation was made at (null: none, or no such operation): a store-bound caller's cancel. */
export async function operationStore(deps: Pick<Deps, 'db'>, tenantId: string, operationId: string): Promise<string | null> {
  const row = await deps.db
    .selectFrom('prepaid_operation')
    .select('store_id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', operationId)
    .executeTakeFirst();
  return row?.store_id ?? null;
}
