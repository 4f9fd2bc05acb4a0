import { createHash, randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { requireAmounts, requireBasketTotal } from '../../platform/amounts.ts';
import { localDate } from '../../platform/clock.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { giveBackWindow, type LimitDeps, limitSecretCheck, rateLimited, takeWindow, type Window } from '../../platform/limits.ts';
import { cut, pageOf, type TPageQuery } from '../../platform/pages.ts';
import { expiringWithin, getAccount, inTransaction, openAccount, systemAccount } from '../ledger/index.ts';
import { memberGrade, requireActiveMember, requireMember } from '../members/index.ts';
import { grantPoints } from '../points/index.ts';
import { deviceStore, requireStore, requireStoreManager, type TManager } from '../stores/index.ts';
import { getTenant } from '../tenants/index.ts';
import { basketStamps, stampsForOrder } from './stamps.rules.ts';
import {
  type TEarnResult,
  type TOrder,
  type TStampCard,
  type TStampCardRequest,
  ZReward,
  ZStampPolicy,
} from './stamps.schemas.ts';
import type { StampCardRow } from './stamps.tables.ts';

// Stamps are ledger value (ledger STAMP:<card>): a member's stamps on a card are a lots account
// (each stamp keeps its own validity), earned from the card's issuance account; a completed board
// moves its stamps to the card's revenue account and issues the reward. Every earning of a member
// on a card first locks that member's row of the card, so a board completes exactly once however
// many earnings race, and the daily maximum is counted on a day nobody else is changing.

type StampsDeps = Pick<Deps, 'db' | 'clock'>;
const OTP_TTL_MS = 3 * 60_000;
const OTP_FAILURES_PER_MANAGER = 5;
const OTP_FAILURES_PER_STORE = 20;
const OTP_FAILURE_WINDOW_MS = 10 * 60_000;
// Each code tolerates this many wrong submissions in its tenant while it is live: guessing any one
// code succeeds with a chance of at most 30 in a million, however many stores take part.
const OTP_WRONG_PER_CODE = 30;

export const stampLedger = (cardId: string) => `STAMP:${cardId}`;

const toCard = (r: StampCardRow): TStampCard => ({
  id: r.id,
  name: r.name,
  type: r.type,
  status: r.status,
  issueFrom: r.issue_from.toISOString(),
  issueUntil: r.issue_until.toISOString(),
  stampsPerBoard: r.stamps_per_board,
  maxBoards: r.max_boards,
  stampValidityDays: r.stamp_validity_days,
  reward: ZReward.parse(r.reward),
  policy: ZStampPolicy.parse(r.policy),
  createdAt: r.created_at.toISOString(),
});

export async function createStampCard(
  deps: Pick<Deps, 'db' | 'config'>,
  tenantId: string,
  c: TStampCardRequest,
): Promise<TStampCard> {
  requireAmounts(deps.config, {
    'reward.points': c.reward.type === 'points' ? c.reward.points : undefined,
    'policy.minAmount': c.policy.minAmount,
    'policy.perAmount': c.policy.perAmount,
  });
  if (Date.parse(c.issueUntil) <= Date.parse(c.issueFrom))
    throw new AppError('VALIDATION_FAILED', 'issueUntil must be after issueFrom.');
  const row = await deps.db
    .insertInto('stamp_card')
    .values({
      tenant_id: tenantId,
      id: newId('stc'),
      name: c.name,
      type: c.type,
      issue_from: new Date(c.issueFrom),
      issue_until: new Date(c.issueUntil),
      stamps_per_board: c.stampsPerBoard,
      max_boards: c.maxBoards,
      stamp_validity_days: c.stampValidityDays,
      reward: JSON.stringify(c.reward),
      policy: JSON.stringify(c.policy),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toCard(row);
}

/** The brand's stamp cards, oldest first, a page at a time; `status` narrows them. */
export async function listStampCards(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  page: TPageQuery & { status?: TStampCard['status'] | undefined } = { limit: 200 },
) {
  const rows = await deps.db
    .selectFrom('stamp_card')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(page.status !== undefined, (q) => q.where('status', '=', page.status!))
    .$if(page.cursor !== undefined, (q) => q.where('id', '>', page.cursor!))
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, toCard);
}

async function cardRow(db: Db, tenantId: string, cardId: string): Promise<StampCardRow> {
  const row = await db
    .selectFrom('stamp_card')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', cardId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No stamp card ${cardId}.`);
  return row;
}

const issuing = (card: StampCardRow, now: Date) => card.status === 'active' && now >= card.issue_from && now < card.issue_until;

const wallet = (db: Db, tenantId: string, cardId: string, memberId: string) =>
  openAccount({ db }, tenantId, {
    ledger: stampLedger(cardId),
    ownerType: 'member',
    ownerId: memberId,
    kind: 'wallet',
    debitsMustNotExceedCredits: true,
    hasLots: true,
  });

type EarnMeta = {
  id: string;
  source: 'order' | 'event' | 'otp';
  orderId?: string | undefined;
  storeId?: string | undefined;
  managerId?: string | undefined;
};

/** Earns `count` stamps (cut to what is left of the daily maximum) and completes every full board. */
async function earn(
  deps: StampsDeps & { db: Db },
  tenantId: string,
  card: StampCardRow,
  memberId: string,
  wanted: number,
  meta: EarnMeta,
): Promise<TEarnResult> {
  const trx = deps.db;
  const now = deps.clock.now();
  if (!issuing(card, now))
    throw new AppError('STAMP_CARD_NOT_ACTIVE', `Stamp card ${card.name} is not issuing now.`, {
      cardId: card.id,
      why: 'period',
    });
  // Created or locked in one statement: the update of nothing takes the row lock.
  const state = await trx
    .insertInto('stamp_member_card')
    .values({ tenant_id: tenantId, card_id: card.id, member_id: memberId })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'card_id', 'member_id'])
        .doUpdateSet((eb) => ({ boards_completed: eb.ref('stamp_member_card.boards_completed') })),
    )
    .returning('boards_completed')
    .executeTakeFirstOrThrow();
  if (card.max_boards !== null && state.boards_completed >= card.max_boards) {
    throw new AppError('STAMP_CARD_NOT_ACTIVE', `All ${card.max_boards} boards of ${card.name} are complete.`, {
      cardId: card.id,
      why: 'boards_complete',
    });
  }
  const policy = ZStampPolicy.parse(card.policy);
  const day = localDate(now, (await getTenant(deps, tenantId)).timeZone);
  let count = wanted;
  if (policy.maxPerDay !== null) {
    const today = await trx
      .selectFrom('stamp_earning')
      .select(sql<string>`coalesce(sum(count - taken_back), 0)`.as('n'))
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', card.id)
      .where('member_id', '=', memberId)
      .where('day', '=', day)
      .where('cancelled', '=', false)
      .executeTakeFirstOrThrow();
    const room = policy.maxPerDay - Number(today.n);
    if (room <= 0)
      throw new AppError('STAMP_DAILY_LIMIT', `At most ${policy.maxPerDay} stamps a day on ${card.name}.`, {
        cardId: card.id,
        limit: policy.maxPerDay,
        earnedToday: Number(today.n),
      });
    count = Math.min(count, room);
  }
  await trx
    .insertInto('stamp_earning')
    .values({
      tenant_id: tenantId,
      id: meta.id,
      card_id: card.id,
      member_id: memberId,
      count,
      day,
      source: meta.source,
      order_id: meta.orderId ?? null,
      store_id: meta.storeId ?? null,
      manager_id: meta.managerId ?? null,
    })
    .execute();
  const ledger = stampLedger(card.id);
  const account = await wallet(trx, tenantId, card.id, memberId);
  const until = card.stamp_validity_days
    ? Math.min(now.getTime() + card.stamp_validity_days * 86_400_000, card.issue_until.getTime())
    : card.issue_until.getTime();
  const post = inTransaction(trx);
  const earned = await post.post({
    tenantId,
    id: meta.id,
    code: meta.source === 'otp' ? 'STAMP_OTP' : 'STAMP',
    reference: meta.orderId,
    legs: [
      {
        debit: (await systemAccount({ db: trx }, tenantId, ledger, 'issuance')).id,
        credit: account.id,
        amount: count,
        ledger,
        expiresAt: new Date(until),
      },
    ],
  });
  if (earned.status === 'rejected')
    throw new AppError('CONFLICT', `The ledger rejected the earning: ${earned.rejection.code}.`, { ...earned.rejection });
  let stamps = earned.balances[0]?.credit ?? (await getAccount({ db: trx }, tenantId, account.id)).balance.posted;
  const completed: number[] = [];
  let boards = state.boards_completed;
  while (stamps >= card.stamps_per_board && (card.max_boards === null || boards < card.max_boards)) {
    const n = ++boards;
    const done = await post.post({
      tenantId,
      id: `st.board.${card.id}.${memberId}.${n}`,
      code: 'BOARD_COMPLETE',
      memo: `board ${n}`,
      legs: [
        {
          debit: account.id,
          credit: (await systemAccount({ db: trx }, tenantId, ledger, 'revenue')).id,
          amount: card.stamps_per_board,
          ledger,
        },
      ],
    });
    if (done.status === 'rejected')
      throw new AppError('CONFLICT', `The ledger rejected the board: ${done.rejection.code}.`, { ...done.rejection });
    await trx
      .insertInto('stamp_board')
      .values({ tenant_id: tenantId, card_id: card.id, member_id: memberId, board_no: n, reward: JSON.stringify(card.reward) })
      .execute();
    const reward = ZReward.parse(card.reward);
    if (reward.type === 'points') {
      await grantPoints({ ...deps, db: trx }, tenantId, {
        id: `st.reward.${card.id}.${memberId}.${n}`,
        kind: 'grant',
        code: 'STAMP_REWARD',
        memberId,
        amount: reward.points,
        reason: `${card.name}: board ${n}`,
      });
    }
    await enqueueEvent(trx, tenantId, {
      topic: 'stamps.board_completed',
      payload: { cardId: card.id, memberId, board: n, reward },
    });
    completed.push(n);
    stamps -= card.stamps_per_board;
  }
  if (boards !== state.boards_completed) {
    await trx
      .updateTable('stamp_member_card')
      .set({ boards_completed: boards })
      .where('tenant_id', '=', tenantId)
      .where('card_id', '=', card.id)
      .where('member_id', '=', memberId)
      .execute();
  }
  return { cardId: card.id, earned: count, earningId: meta.id, skipped: null, stamps, completedBoards: completed };
}

/**
 * Stamps for an order on every payment card issuing now: each card earns by its own policy, or
 * says which rule excluded it (skipped) — one card's refusal does not stop the others.
 */
export async function earnForOrder(
  deps: StampsDeps & Pick<Deps, 'config'>,
  tenantId: string,
  order: TOrder,
): Promise<TEarnResult[]> {
  requireBasketTotal(deps.config, order.items);
  requireAmounts(deps.config, { amount: order.amount });
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const member = await requireActiveMember(d, tenantId, order.memberId);
    const storeId = order.deviceSerial ? await deviceStore(d, tenantId, order.deviceSerial) : order.storeId;
    if (storeId !== undefined && !order.deviceSerial) await requireStore(d, tenantId, storeId);
    const seen = await trx
      .selectFrom('stamp_earning')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('order_id', '=', order.orderId)
      .where('source', '=', 'order')
      .executeTakeFirst();
    if (seen)
      throw new AppError('ORDER_ALREADY_PROCESSED', `Order ${order.orderId} earned its stamps already.`, {
        operationId: seen.id,
      });
    const now = deps.clock.now();
    const cards = (
      await trx
        .selectFrom('stamp_card')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('type', '=', 'payment')
        .orderBy('id')
        .execute()
    ).filter((c) => issuing(c, now));
    const results: TEarnResult[] = [];
    for (const card of cards) {
      const eligible = stampsForOrder(ZStampPolicy.parse(card.policy), { ...order, storeId }, member.grade);
      if ('rule' in eligible) {
        results.push({
          cardId: card.id,
          earned: 0,
          earningId: null,
          skipped: { code: 'STAMP_NOT_ELIGIBLE', rule: eligible.rule, message: eligible.message },
          stamps: 0,
          completedBoards: [],
        });
        continue;
      }
      await sql`savepoint moa_stamp_card`.execute(trx);
      try {
        results.push(
          await earn(d, tenantId, card, order.memberId, eligible.count, {
            id: `st.order.${order.orderId}.${card.id}`,
            source: 'order',
            orderId: order.orderId,
            storeId,
          }),
        );
      } catch (err) {
        if (!isAppError(err) || err.status >= 500) throw err;
        await sql`rollback to savepoint moa_stamp_card`.execute(trx);
        results.push({
          cardId: card.id,
          earned: 0,
          earningId: null,
          skipped: { code: err.code, message: err.message },
          stamps: 0,
          completedBoards: [],
        });
      }
    }
    return results;
  });
}

/** For a checkout quote (nothing is written): what each payment card issuing now would earn on the order, or the rule that excludes it (before the daily maximum). */
export async function previewOrderStamps(
  deps: StampsDeps,
  tenantId: string,
  order: TOrder,
): Promise<{ cardId: string; name: string; count: number; rule: string | null }[]> {
  const member = await memberGrade(deps, tenantId, order.memberId);
  const now = deps.clock.now();
  const cards = (
    await deps.db
      .selectFrom('stamp_card')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('type', '=', 'payment')
      .orderBy('id')
      .execute()
  ).filter((c) => issuing(c, now));
  return cards.map((card) => {
    const e = stampsForOrder(ZStampPolicy.parse(card.policy), order, member.grade);
    return { cardId: card.id, name: card.name, count: 'count' in e ? e.count : 0, rule: 'rule' in e ? e.rule : null };
  });
}

/** Stamps on an event card (or any card, by the brand's server): `count` for one event id. */
export async function earnForEvent(
  deps: StampsDeps,
  tenantId: string,
  input: { cardId: string; memberId: string; eventId: string; count: number },
): Promise<TEarnResult> {
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    await memberGrade(d, tenantId, input.memberId);
    const id = `st.event.${input.eventId}`;
    if (
      await trx.selectFrom('stamp_earning').select('id').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()
    ) {
      throw new AppError('ORDER_ALREADY_PROCESSED', `Event ${input.eventId} earned its stamps already.`, { operationId: id });
    }
    const card = await cardRow(trx, tenantId, input.cardId);
    const policy = ZStampPolicy.parse(card.policy);
    return earn(
      d,
      tenantId,
      card,
      input.memberId,
      policy.maxPerEarning === null ? input.count : Math.min(input.count, policy.maxPerEarning),
      { id, source: 'event' },
    );
  });
}

/** Takes back the stamps of an order (all its cards); refused when they went into a completed board. */
export async function cancelOrderStamps(deps: StampsDeps, tenantId: string, input: { cancelId: string; orderId: string }) {
  return takeBackOrderStamps(deps, tenantId, input, () => 0);
}

/**
 * After a partial cancel: each card keeps what the order's remaining lines and amount earn under
 * its policy (never more than it earned) and the rest is taken back. Refused, like a full cancel,
 * when the stamps already went into a completed board.
 */
export async function reduceOrderStamps(
  deps: StampsDeps,
  tenantId: string,
  input: { cancelId: string; orderId: string; remaining: Pick<TOrder, 'items' | 'amount'> },
) {
  return takeBackOrderStamps(deps, tenantId, input, (card) => {
    const kept = basketStamps(ZStampPolicy.parse(card.policy), input.remaining);
    return 'count' in kept ? kept.count : 0;
  });
}

async function takeBackOrderStamps(
  deps: StampsDeps,
  tenantId: string,
  input: { cancelId: string; orderId: string },
  keep: (card: StampCardRow) => number,
) {
  return withTransaction(deps.db, async (trx) => {
    const earnings = await trx
      .selectFrom('stamp_earning')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('order_id', '=', input.orderId)
      .where('cancelled', '=', false)
      .orderBy('card_id')
      .execute();
    if (earnings.length === 0)
      throw new AppError('OPERATION_NOT_CANCELLABLE', `Order ${input.orderId} has no stamps to take back.`, { why: 'nothing' });
    const cancelled: { cardId: string; count: number }[] = [];
    for (const e of earnings) {
      const held = e.count - e.taken_back;
      const back = held - Math.min(held, keep(await cardRow(trx, tenantId, e.card_id)));
      if (back === 0) continue;
      await trx
        .selectFrom('stamp_member_card')
        .select('card_id')
        .where('tenant_id', '=', tenantId)
        .where('card_id', '=', e.card_id)
        .where('member_id', '=', e.member_id)
        .forUpdate()
        .execute();
      const r = await inTransaction(trx).reverse({
        tenantId,
        id: `st.cancel.${input.cancelId}.${e.card_id}`,
        transactionId: e.id,
        amounts: [back],
        code: 'STAMP_CANCEL',
        reference: input.orderId,
      });
      if (r.status === 'rejected') {
        const why = r.rejection.code === 'INSUFFICIENT_BALANCE' ? 'stamps_used_for_reward' : r.rejection.code;
        throw new AppError('OPERATION_NOT_CANCELLABLE', 'The stamps of this order already went into a completed board.', {
          why,
          cardId: e.card_id,
        });
      }
      await trx
        .updateTable('stamp_earning')
        .set({ taken_back: e.taken_back + back, cancelled: back === held })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', e.id)
        .execute();
      cancelled.push({ cardId: e.card_id, count: back });
    }
    return { orderId: input.orderId, cancelled };
  });
}

/** A member's stamp cards: stamps on the current board, boards completed, what expires soon. */
/** The cards a member holds stamps on or can collect now, oldest card first, a page at a time. */
export async function memberStampCards(deps: StampsDeps, tenantId: string, memberId: string, page: TPageQuery = { limit: 200 }) {
  // An unknown member is NOT_FOUND (and opens no wallet).
  await requireMember(deps, tenantId, memberId);
  const now = deps.clock.now();
  const held = deps.db
    .selectFrom('stamp_member_card')
    .select('card_id')
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId);
  const rows = await deps.db
    .selectFrom('stamp_card')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'active'), eb('issue_from', '<=', now), eb('issue_until', '>', now)]),
        eb('id', 'in', held),
      ]),
    )
    .$if(page.cursor !== undefined, (q) => q.where('id', '>', page.cursor!))
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  const { rows: cards, nextCursor } = cut(rows, page.limit);
  const states = cards.length
    ? await deps.db
        .selectFrom('stamp_member_card')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('member_id', '=', memberId)
        .where(
          'card_id',
          'in',
          cards.map((c) => c.id),
        )
        .execute()
    : [];
  const items = await Promise.all(
    cards.map(async (c) => {
      const account = await wallet(deps.db, tenantId, c.id, memberId);
      const soon = await expiringWithin(deps, tenantId, 30, { accountId: account.id });
      return {
        card: toCard(c),
        stamps: account.balance.posted,
        boardsCompleted: states.find((s) => s.card_id === c.id)?.boards_completed ?? 0,
        expiringWithin30Days: soon[0]?.amount ?? 0,
      };
    }),
  );
  return { items, nextCursor };
}

const codeHash = (tenantId: string, code: string) => createHash('sha256').update(`${tenantId}:${code}`).digest('hex');

/** A 6-digit one-time code for the member's card (valid 3 minutes, single use); earlier live codes of the card end. */
export async function issueOtp(deps: StampsDeps, tenantId: string, memberId: string, cardId: string) {
  const card = await cardRow(deps.db, tenantId, cardId);
  const now = deps.clock.now();
  if (!issuing(card, now))
    throw new AppError('STAMP_CARD_NOT_ACTIVE', `Stamp card ${card.name} is not issuing now.`, { cardId, why: 'period' });
  const expiresAt = new Date(now.getTime() + OTP_TTL_MS);
  return withTransaction(deps.db, async (trx) => {
    await trx
      .updateTable('stamp_otp')
      .set({ expires_at: now })
      .where('tenant_id', '=', tenantId)
      .where('member_id', '=', memberId)
      .where('card_id', '=', cardId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
    for (let attempt = 0; attempt < 20; attempt++) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const hash = codeHash(tenantId, code);
      // A code's hash is unique per tenant; one that ended may be reused.
      await trx
        .deleteFrom('stamp_otp')
        .where('tenant_id', '=', tenantId)
        .where('code_hash', '=', hash)
        .where('expires_at', '<=', now)
        .where('used_at', 'is', null)
        .execute();
      const row = await trx
        .insertInto('stamp_otp')
        .values({
          tenant_id: tenantId,
          id: newId('otp'),
          code_hash: hash,
          member_id: memberId,
          card_id: cardId,
          expires_at: expiresAt,
          used_at: null,
          earning_id: null,
          manager_id: null,
          store_id: null,
          requested: null,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'code_hash']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (row) return { code, cardId, expiresAt: expiresAt.toISOString() };
    }
    throw new AppError('SERVICE_UNAVAILABLE', 'No free code; try again.');
  });
}

/** A wrong code: logged with the manager and the store, and counted against every code live now (it may have been a guess at any of them). */
async function recordFailure(deps: StampsDeps, tenantId: string, managerId: string, storeId: string) {
  const now = deps.clock.now();
  await deps.db
    .insertInto('stamp_otp_failure')
    .values({ tenant_id: tenantId, manager_id: managerId, store_id: storeId, at: now })
    .execute();
  await deps.db
    .updateTable('stamp_otp')
    .set((eb) => ({
      wrong_seen: eb('wrong_seen', '+', 1),
      expires_at: eb
        .case()
        .when('wrong_seen', '>=', OTP_WRONG_PER_CODE - 1)
        .then(now)
        .else(eb.ref('expires_at'))
        .end(),
    }))
    .where('tenant_id', '=', tenantId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
}

/**
 * The wrong-code allowances (5 per manager, 20 per store, per 10-minute window), claimed before
 * the code is looked up: one upsert each that stops at its limit (platform/limits.ts), so parallel
 * guesses never get more checks. Returns the claims, given back when the code turns out right.
 */
async function claimWrongCodeAllowance(
  deps: StampsDeps,
  tenantId: string,
  managerId: string,
  storeId: string,
): Promise<Window[]> {
  const now = deps.clock.now();
  const windowSeconds = OTP_FAILURE_WINDOW_MS / 1000;
  const windows: Window[] = [
    { key: `stamp_otp.manager:${managerId}`, limit: OTP_FAILURES_PER_MANAGER, windowSeconds },
    { key: `stamp_otp.store:${storeId}`, limit: OTP_FAILURES_PER_STORE, windowSeconds },
  ];
  for (const [i, w] of windows.entries()) {
    const taken = await takeWindow(deps.db, tenantId, w, now);
    if (!taken.allowed) {
      for (const claimed of windows.slice(0, i)) await giveBackWindow(deps.db, tenantId, claimed, now);
      throw rateLimited('Too many wrong codes: wait a few minutes.', taken.resetAt, now, {
        per: i === 0 ? 'manager' : 'store',
        limit: w.limit,
      });
    }
  }
  return windows;
}

/**
 * The OTP fallback (대체인증): a registered manager of a participating store submits a member's code
 * and a stamp count; the stamps are earned by the card's normal policy (daily maximum included) and
 * the approval is logged with manager, store and time (on the code and the earning). A code is used
 * once: submitted again, by anyone, it is OTP_INVALID and counts as a wrong code.
 */
export async function approveOtp(
  deps: StampsDeps & LimitDeps,
  tenantId: string,
  manager: TManager,
  input: { storeId: string; code: string; count: number; ip?: string },
) {
  await requireStoreManager(deps, tenantId, manager, input.storeId);
  await limitSecretCheck(deps, tenantId, { kind: 'stamp_otp', credential: manager.id, ip: input.ip });
  const claims = await claimWrongCodeAllowance(deps, tenantId, manager.id, input.storeId);
  // Anything but a wrong code gives the claims back: the code matched, so nothing was guessed.
  const giveBack = async () => {
    for (const w of claims) await giveBackWindow(deps.db, tenantId, w, deps.clock.now());
  };
  const outcome = await withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const otp = await trx
      .selectFrom('stamp_otp')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('code_hash', '=', codeHash(tenantId, input.code))
      .forUpdate()
      .executeTakeFirst();
    if (!otp) return { wrong: true as const };
    // A used code is as good as a wrong one: single use, whoever submits it again.
    if (otp.used_at) return { wrong: true as const };
    if (otp.expires_at <= deps.clock.now()) {
      if (otp.wrong_seen >= OTP_WRONG_PER_CODE) {
        throw new AppError('OTP_EXPIRED', 'The code ended after too many wrong codes were tried: the member issues a new one.', {
          expiredAt: otp.expires_at.toISOString(),
          why: 'too_many_wrong_codes',
        });
      }
      throw new AppError('OTP_EXPIRED', 'The code has expired: the member issues a new one.', {
        expiredAt: otp.expires_at.toISOString(),
        why: 'expired',
      });
    }
    const card = await cardRow(trx, tenantId, otp.card_id);
    const policy = ZStampPolicy.parse(card.policy);
    if (policy.stores !== 'all' && !policy.stores.includes(input.storeId)) {
      throw new AppError('STAMP_NOT_ELIGIBLE', 'The store does not take part in this stamp card.', {
        rule: 'store',
        storeId: input.storeId,
        cardId: card.id,
      });
    }
    const count = policy.maxPerEarning === null ? input.count : Math.min(input.count, policy.maxPerEarning);
    const result = await earn(d, tenantId, card, otp.member_id, count, {
      id: `st.otp.${otp.id}`,
      source: 'otp',
      storeId: input.storeId,
      managerId: manager.id,
    });
    await trx
      .updateTable('stamp_otp')
      .set({
        used_at: deps.clock.now(),
        earning_id: result.earningId,
        manager_id: manager.id,
        store_id: input.storeId,
        requested: input.count,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', otp.id)
      .execute();
    return { result, memberId: otp.member_id };
  }).catch(async (err: unknown) => {
    await giveBack();
    throw err;
  });
  if (!('wrong' in outcome)) await giveBack();
  if ('wrong' in outcome) {
    await recordFailure(deps, tenantId, manager.id, input.storeId);
    throw new AppError('OTP_INVALID', 'No live code matches.');
  }
  return { ...outcome.result, memberId: outcome.memberId, managerId: manager.id, storeId: input.storeId };
}
