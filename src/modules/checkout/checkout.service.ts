import { createHash } from 'node:crypto';
import { requireAmounts, requireBasketTotal } from '../../platform/amounts.ts';
import { fixedClock } from '../../platform/clock.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { stableStringify } from '../../platform/idempotency.ts';
import { cancelRedemption, memberCoupons, redeemCoupon, type TCouponOrder, validateMemberCoupons } from '../coupons/index.ts';
import { requireActiveMember } from '../members/index.ts';
import { cancelPoints, earnPoints, pointsQuote, usePoints } from '../points/index.ts';
import { cancelUse, listCards, useCard } from '../prepaid/index.ts';
import { cancelOrderStamps, earnForOrder, previewOrderStamps, reduceOrderStamps } from '../stamps/index.ts';
import { requireStore } from '../stores/index.ts';
import {
  addShare,
  bestCombination,
  type CancelLine,
  type Cancelled,
  cancelShare,
  combinationProblem,
  nothingCancelled,
} from './checkout.rules.ts';
import type {
  TBasket,
  TCheckout,
  TCheckoutCancel,
  TCheckoutListQuery,
  TCheckoutSummary,
  TCommitRequest,
  TQuote,
} from './checkout.schemas.ts';
import type { CheckoutRow } from './checkout.tables.ts';

// Checkout: the one integration a POS or app needs. A quote says what the member can do with a
// basket and changes nothing. A commit applies the chosen coupons, points and prepaid and earns
// points and stamps, each through its own module, all inside one database transaction: every part
// or none. Its ids all derive from the checkout id (`pt.use.<id>`, `pp.use.<id>`, …), so a retry
// with the same id returns the first answer and never applies twice. A cancel reverses exactly what
// the commit did.

type CheckoutDeps = Pick<Deps, 'db' | 'clock' | 'config'>;

const orderAmountOf = (b: TBasket) => b.items.reduce((s, i) => s + i.quantity * i.unitPrice, 0) + b.deliveryFee;

/** Every line, the delivery fee, the order amount and what the member pays with, within the maximum: checked before anything is written. */
function requireOrderAmounts(
  deps: Pick<Deps, 'config'>,
  b: TBasket & Partial<Pick<TCommitRequest, 'points' | 'prepaid'>>,
): number {
  const items = requireBasketTotal(deps.config, b.items);
  requireAmounts(deps.config, {
    deliveryFee: b.deliveryFee,
    orderAmount: items + b.deliveryFee,
    points: b.points,
    'prepaid.amount': b.prepaid?.amount,
  });
  return items + b.deliveryFee;
}
const couponOrder = (b: TBasket, orderId: string): TCouponOrder => ({
  orderId,
  channel: b.channel,
  storeId: b.storeId,
  serviceType: b.serviceType,
  items: b.items,
  amount: orderAmountOf(b) - b.deliveryFee,
  deliveryFee: b.deliveryFee,
});
const stampOrder = (b: TBasket, orderId: string, amount: number, couponUsed: boolean, paymentMethods: string[]) => ({
  memberId: b.memberId,
  orderId,
  channel: b.channel,
  storeId: b.storeId,
  serviceType: b.serviceType,
  amount,
  items: b.items,
  paymentMethods,
  couponUsed,
});

/** What the member can do with this basket: every coupon with its discount or the rule it breaks, the best combination, points, prepaid and what the order earns. */
export async function quote(deps: CheckoutDeps, tenantId: string, basket: TBasket): Promise<TQuote> {
  const orderAmount = requireOrderAmounts(deps, basket);
  await requireActiveMember(deps, tenantId, basket.memberId);
  const applicable: TQuote['coupons']['applicable'] = [];
  const inapplicable: TQuote['coupons']['inapplicable'] = [];
  for (const { coupon: c, ...v } of await validateMemberCoupons(deps, tenantId, basket.memberId, couponOrder(basket, 'quote'))) {
    const option = { couponId: c.id, definitionId: c.definitionId, name: c.name, stacking: c.stacking };
    if (v.applicable) applicable.push({ ...option, discount: v.discount });
    else inapplicable.push({ ...option, ...v.rejection! });
  }
  const best = bestCombination(applicable, orderAmount);
  const payable = orderAmount - best.discount;
  const points = await pointsQuote(deps, tenantId, {
    memberId: basket.memberId,
    orderAmount: payable,
    paidAmount: payable,
    channel: basket.channel,
  });
  const cards = (await listCards(deps, tenantId, basket.memberId)).filter((c) => c.status === 'active');
  const stamps = await previewOrderStamps(
    deps,
    tenantId,
    stampOrder(basket, 'quote', payable, best.couponIds.length > 0, basket.paymentMethods),
  );
  return {
    orderAmount,
    coupons: { applicable, inapplicable, best },
    payable,
    points,
    prepaid: { cards: cards.map((c) => ({ cardId: c.id, nickname: c.nickname, main: c.main, balance: c.balance })) },
    stamps,
  };
}

/** What a retry is compared by: the same id with another hash is a conflict. */
const requestHash = (r: object) => createHash('sha256').update(stableStringify(r)).digest('hex');

type Committed = Omit<TCheckout, 'status' | 'items' | 'cancels' | 'cancelledAt'>;

const linesOf = (row: CheckoutRow) => (row.request as TCommitRequest | null)?.items ?? [];
const cancelledOf = (row: CheckoutRow) => (row.cancelled as Cancelled | null) ?? nothingCancelled(linesOf(row).length);

const toCheckout = (row: CheckoutRow, cancels: TCheckoutCancel[]): TCheckout => {
  const cancelled = cancelledOf(row);
  return {
    ...(row.result as Committed),
    status: row.status,
    items: linesOf(row).map((i, line) => ({
      line,
      productId: i.productId,
      quantity: i.quantity,
      unitPrice: i.unitPrice,
      cancelledQuantity: cancelled.quantities[line] ?? 0,
    })),
    cancels,
    cancelledAt: row.cancelled_at?.toISOString() ?? null,
  };
};

/** The checkout with its cancels, oldest first. */
async function withCancels(db: Db, tenantId: string, row: CheckoutRow): Promise<TCheckout> {
  const cancels =
    row.status === 'committed'
      ? []
      : await db
          .selectFrom('checkout_cancel')
          .select('detail')
          .where('tenant_id', '=', tenantId)
          .where('checkout_id', '=', row.id)
          .orderBy('created_at')
          .orderBy('id')
          .execute();
  return toCheckout(
    row,
    cancels.map((c) => c.detail as TCheckoutCancel),
  );
}

/**
 * Commits a checkout in one transaction: the coupons (a valid combination, each used once), the
 * points and the prepaid amount, then the points and stamps the rest earns. Any refusal leaves
 * nothing behind. The same checkout id again returns the first answer; with other content it is
 * refused (CONFLICT).
 */
export async function commit(deps: CheckoutDeps, tenantId: string, req: TCommitRequest): Promise<TCheckout> {
  const hash = requestHash(req);
  const orderAmount = requireOrderAmounts(deps, req);
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const now = deps.clock.now();
    // Claim the id first: a concurrent duplicate waits here for the first to commit, then replays it.
    const claimed = await trx
      .insertInto('checkout')
      .values({
        tenant_id: tenantId,
        id: req.checkoutId,
        member_id: req.memberId,
        store_id: req.storeId ?? null,
        request_hash: hash,
        status: 'committed',
        order_amount: orderAmount,
        discount: 0,
        points_used: 0,
        prepaid_used: 0,
        paid_amount: 0,
        result: '{}',
        request: JSON.stringify(req),
        cancelled: null,
        occurred_at: req.occurredAt ? new Date(req.occurredAt) : null,
        created_at: now,
        cancelled_at: null,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!claimed) {
      const existing = await trx
        .selectFrom('checkout')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', req.checkoutId)
        .executeTakeFirstOrThrow();
      if (existing.request_hash !== hash)
        throw new AppError('CONFLICT', `Checkout ${req.checkoutId} was committed with other content.`, {
          checkoutId: req.checkoutId,
        });
      return withCancels(trx, tenantId, existing);
    }
    await requireActiveMember(d, tenantId, req.memberId);
    // The store must be the brand's (settlement stands on it); the parts below find it in the transaction's memo.
    if (req.storeId !== undefined) await requireStore(d, tenantId, req.storeId);

    // Coupons: a valid combination, each used once; together never more than the order.
    const held = await memberCoupons(d, tenantId, req.memberId, { ids: req.couponIds });
    const chosen = [...new Set(req.couponIds)].sort().map((id) => {
      const c = held.find((h) => h.id === id);
      if (!c) throw new AppError('NOT_FOUND', `No coupon ${id}.`);
      return { couponId: c.id, definitionId: c.definitionId, stacking: c.stacking };
    });
    const problem = combinationProblem(chosen);
    if (problem) throw new AppError('COUPON_NOT_STACKABLE', problem.message, problem.details);
    const coupons: TCheckout['coupons'] = [];
    let discount = 0;
    for (const c of chosen) {
      const use = await redeemCoupon(d, tenantId, {
        memberId: req.memberId,
        couponId: c.couponId,
        order: couponOrder(req, req.checkoutId),
        cap: orderAmount - discount,
        holdId: req.holdId,
      });
      coupons.push({ couponId: c.couponId, useId: use.id, discount: use.discount });
      discount += use.discount;
    }
    const prepaidUsed = req.prepaid?.amount ?? 0;
    if (discount + req.points + prepaidUsed > orderAmount) {
      throw new AppError(
        'CHECKOUT_EXCEEDS_TOTAL',
        `Coupons ${discount}, points ${req.points} and prepaid ${prepaidUsed} exceed the order's ${orderAmount}.`,
        {
          orderAmount,
          discount,
          points: req.points,
          prepaid: prepaidUsed,
        },
      );
    }
    if (req.points > 0)
      await usePoints(d, tenantId, {
        memberId: req.memberId,
        orderId: req.checkoutId,
        amount: req.points,
        orderAmount: orderAmount - discount,
        channel: req.channel,
        storeId: req.storeId,
      });
    if (req.prepaid) {
      if (!(await listCards(d, tenantId, req.memberId)).some((c) => c.id === req.prepaid!.cardId))
        throw new AppError('NOT_FOUND', `No prepaid card ${req.prepaid.cardId}.`);
      await useCard(d, tenantId, {
        orderId: req.checkoutId,
        cardId: req.prepaid.cardId,
        amount: prepaidUsed,
        channel: req.channel,
        storeId: req.storeId,
      });
    }

    // Earned on what was paid: after coupons and points (prepaid is a payment).
    const paid = orderAmount - discount - req.points;
    let pointsEarned = 0;
    try {
      pointsEarned = (
        await earnPoints(d, tenantId, {
          memberId: req.memberId,
          orderId: req.checkoutId,
          paidAmount: paid,
          channel: req.channel,
          storeId: req.storeId,
        })
      ).amount;
    } catch (err) {
      // A channel that earns no points is not a reason to refuse the order (checked before anything is written).
      if (!isAppError(err) || err.code !== 'POINTS_CHANNEL_NOT_ALLOWED') throw err;
    }
    const methods = [...req.paymentMethods, ...(req.points > 0 ? ['points'] : []), ...(req.prepaid ? ['prepaid'] : [])];
    const stamps = (await earnForOrder(d, tenantId, stampOrder(req, req.checkoutId, paid, coupons.length > 0, methods))).map(
      (s) => ({ cardId: s.cardId, earned: s.earned, skipped: s.skipped?.code ?? null }),
    );

    const result = {
      checkoutId: req.checkoutId,
      memberId: req.memberId,
      orderAmount,
      discount,
      coupons,
      pointsUsed: req.points,
      prepaidUsed,
      paidAmount: orderAmount - discount - req.points - prepaidUsed,
      pointsEarned,
      stamps,
      occurredAt: req.occurredAt ?? null,
      createdAt: now.toISOString(),
    };
    const row = await trx
      .updateTable('checkout')
      .set({
        discount,
        points_used: req.points,
        prepaid_used: prepaidUsed,
        paid_amount: result.paidAmount,
        result: JSON.stringify(result),
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', req.checkoutId)
      .returningAll()
      .executeTakeFirstOrThrow();
    // The member's first checkout (first-order coupons): no other checkout of theirs exists.
    const earlier = await trx
      .selectFrom('checkout')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('member_id', '=', req.memberId)
      .where('id', '<>', req.checkoutId)
      .limit(1)
      .executeTakeFirst();
    await enqueueEvent(trx, tenantId, {
      topic: 'checkout.committed',
      payload: {
        checkoutId: req.checkoutId,
        memberId: req.memberId,
        orderAmount,
        discount,
        paidAmount: result.paidAmount,
        firstOrder: !earlier,
      },
    });
    return toCheckout(row, []);
  });
}

/**
 * Cancels a checkout's lines (some, or all that are left), reversing exactly their share of what
 * the commit did: the coupon discount they had stays with the order, and the rest comes back in
 * proportion as points (to their lots), prepaid and a refund by the other payment methods; earned
 * points are taken back in the same proportion and stamps down to what the remaining lines earn.
 * The last cancel gives back exactly what is left, the delivery fee and the coupons with it.
 * Refused with nothing changed when earned points were spent (INSUFFICIENT_POINTS, why
 * earned_points_used) or earned stamps went into a completed board. The same cancel id again
 * returns the checkout as it is.
 */
export async function cancel(
  deps: CheckoutDeps,
  tenantId: string,
  input: { checkoutId: string; cancelId: string; lines?: CancelLine[] | undefined },
): Promise<TCheckout> {
  const hash = requestHash({ checkoutId: input.checkoutId, lines: input.lines ?? null });
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const row = await trx
      .selectFrom('checkout')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', input.checkoutId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `No checkout ${input.checkoutId}.`);
    const prior = await trx
      .selectFrom('checkout_cancel')
      .select(['checkout_id', 'request_hash'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', input.cancelId)
      .executeTakeFirst();
    if (prior) {
      if (prior.checkout_id !== row.id || prior.request_hash !== hash)
        throw new AppError('CONFLICT', `Cancel ${input.cancelId} was made with other content.`, { cancelId: input.cancelId });
      return withCancels(trx, tenantId, row);
    }
    if (row.status === 'cancelled')
      throw new AppError('OPERATION_NOT_CANCELLABLE', `Checkout ${input.checkoutId} is cancelled already.`, { why: 'cancelled' });
    const done = row.result as Committed;
    const items = linesOf(row);
    if (input.lines && items.length === 0)
      throw new AppError(
        'OPERATION_NOT_CANCELLABLE',
        `Checkout ${row.id} was committed before lines were kept: cancel it whole.`,
        { why: 'no_lines' },
      );
    const was = cancelledOf(row);

    const quantities = [...was.quantities];
    const lines =
      input.lines ??
      items.map((i, line) => ({ line, quantity: i.quantity - was.quantities[line]! })).filter((l) => l.quantity > 0);
    for (const l of lines) {
      const item = items[l.line];
      if (!item)
        throw new AppError('OPERATION_NOT_CANCELLABLE', `Checkout ${row.id} has no line ${l.line}.`, {
          why: 'no_such_line',
          line: l.line,
          lines: items.length,
        });
      quantities[l.line]! += l.quantity;
      if (quantities[l.line]! > item.quantity) {
        throw new AppError(
          'OPERATION_NOT_CANCELLABLE',
          `Line ${l.line} has ${item.quantity - was.quantities[l.line]!} left to cancel.`,
          { why: 'exceeds_line', line: l.line, left: item.quantity - was.quantities[l.line]! },
        );
      }
    }
    const full = quantities.every((q, i) => q === items[i]!.quantity);
    const priceOf = (qs: number[]) => qs.reduce((s, q, i) => s + q * items[i]!.unitPrice, 0);
    const share = cancelShare(done, was, full ? done.orderAmount - was.amount : priceOf(quantities) - priceOf(was.quantities));

    const id = (part: string) => `co.${input.cancelId}.${part}`;
    let stamps: { cardId: string; count: number }[] = [];
    if (done.stamps.reduce((s, x) => s + x.earned, 0) > was.stamps) {
      const stampsBase =
        done.orderAmount - done.discount - done.pointsUsed - (was.prepaid + was.paid + share.prepaid + share.paid);
      const remaining = {
        items: items.map((i, line) => ({ ...i, quantity: i.quantity - quantities[line]! })).filter((i) => i.quantity > 0),
        amount: stampsBase,
      };
      const taken = full
        ? await cancelOrderStamps(d, tenantId, { cancelId: id('stamps'), orderId: row.id })
        : await reduceOrderStamps(d, tenantId, { cancelId: id('stamps'), orderId: row.id, remaining });
      stamps = taken.cancelled;
    }
    if (share.pointsEarned > 0)
      await cancelPoints(d, tenantId, { cancelId: id('earn'), operationId: `pt.earn.${row.id}`, amount: share.pointsEarned });
    if (share.prepaid > 0)
      await cancelUse(d, tenantId, { cancelId: id('prepaid'), operationId: `pp.use.${row.id}`, amount: share.prepaid });
    if (share.points > 0)
      await cancelPoints(d, tenantId, { cancelId: id('use'), operationId: `pt.use.${row.id}`, amount: share.points });
    if (full) for (const c of done.coupons) await cancelRedemption(d, tenantId, c.useId);

    const now = deps.clock.now();
    const cancelled: Cancelled = {
      ...addShare(was, share),
      quantities,
      stamps: was.stamps + stamps.reduce((s, x) => s + x.count, 0),
    };
    const detail: TCheckoutCancel = {
      cancelId: input.cancelId,
      lines,
      full,
      amount: share.amount,
      discount: share.discount,
      pointsRestored: share.points,
      prepaidReturned: share.prepaid,
      paidRefund: share.paid,
      pointsTakenBack: share.pointsEarned,
      stampsTakenBack: stamps,
      couponsRestored: full ? done.coupons.map((c) => c.couponId) : [],
      createdAt: now.toISOString(),
    };
    await trx
      .insertInto('checkout_cancel')
      .values({
        tenant_id: tenantId,
        id: input.cancelId,
        checkout_id: row.id,
        request_hash: hash,
        detail: JSON.stringify(detail),
        created_at: now,
      })
      .execute();
    const updated = await trx
      .updateTable('checkout')
      .set({
        status: full ? 'cancelled' : 'partially_cancelled',
        cancelled: JSON.stringify(cancelled),
        cancelled_at: full ? now : null,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await enqueueEvent(trx, tenantId, {
      topic: 'checkout.cancelled',
      payload: {
        checkoutId: row.id,
        memberId: row.member_id,
        cancelId: input.cancelId,
        full,
        amount: share.amount,
        paidRefund: share.paid,
      },
    });
    return withCancels(trx, tenantId, updated);
  });
}

export async function getCheckout(deps: Pick<Deps, 'db'>, tenantId: string, checkoutId: string): Promise<TCheckout> {
  const row = await deps.db
    .selectFrom('checkout')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', checkoutId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No checkout ${checkoutId}.`);
  return withCancels(deps.db, tenantId, row);
}

/**
 * Checkouts newest first (by when Moa recorded them), of a member, a store, a status and a period,
 * a page at a time. Checkout ids are the caller's, so the cursor carries the recording time too:
 * `(created_at, id)` is the key the indexes follow.
 */
export async function listCheckouts(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  q: TCheckoutListQuery,
): Promise<{ items: TCheckoutSummary[]; nextCursor: string | null }> {
  const after = q.cursor === undefined ? undefined : readCursor(q.cursor);
  const rows = await deps.db
    .selectFrom('checkout')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(q.memberId !== undefined, (b) => b.where('member_id', '=', q.memberId!))
    .$if(q.storeId !== undefined, (b) => b.where('store_id', '=', q.storeId!))
    .$if(q.status !== undefined, (b) => b.where('status', '=', q.status!))
    .$if(q.from !== undefined, (b) => b.where('created_at', '>=', new Date(q.from!)))
    .$if(q.to !== undefined, (b) => b.where('created_at', '<', new Date(q.to!)))
    .$if(after !== undefined, (b) =>
      b.where((eb) =>
        eb.or([eb('created_at', '<', after!.at), eb.and([eb('created_at', '=', after!.at), eb('id', '<', after!.id)])]),
      ),
    )
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      checkoutId: r.id,
      memberId: r.member_id,
      storeId: r.store_id,
      status: r.status,
      orderAmount: Number(r.order_amount),
      discount: Number(r.discount),
      pointsUsed: Number(r.points_used),
      prepaidUsed: Number(r.prepaid_used),
      paidAmount: Number(r.paid_amount),
      occurredAt: r.occurred_at?.toISOString() ?? null,
      createdAt: r.created_at.toISOString(),
      cancelledAt: r.cancelled_at?.toISOString() ?? null,
    })),
    nextCursor:
      rows.length > q.limit && last
        ? Buffer.from(JSON.stringify([last.created_at.toISOString(), last.id])).toString('base64url')
        : null,
  };
}

function readCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at))) return { at: new Date(at), id };
  } catch {}
  throw fieldError('querystring.cursor', 'is not a nextCursor of this list');
}

/** The store a checkout was made at (null: none, or no such checkout): a store-bound caller's cancel. */
export async function checkoutStore(deps: Pick<Deps, 'db'>, tenantId: string, checkoutId: string): Promise<string | null> {
  const row = await deps.db
    .selectFrom('checkout')
    .select('store_id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', checkoutId)
    .executeTakeFirst();
  return row?.store_id ?? null;
}

type ReplayItem = {
  checkoutId: string;
  occurredAt: string;
  outcome: 'committed' | 'already_committed' | 'rejected';
  checkout?: TCheckout;
  rejection?: { code: string; message: string; details?: Record<string, unknown> };
};

/**
 * A POS that was offline sends its checkouts later, with their original ids and times. They apply
 * in the order they happened, each on its own and judged as of its own time (a coupon valid then
 * is valid for it). Each is answered: committed, already committed (a replay sent twice), or
 * rejected with the refusing rule's code (a coupon used elsewhere meanwhile, points spent, …).
 * None is dropped silently.
 */
export async function replay(
  deps: CheckoutDeps,
  tenantId: string,
  checkouts: (TCommitRequest & { occurredAt: string })[],
): Promise<{ items: ReplayItem[] }> {
  const now = deps.clock.now().getTime();
  const ordered = checkouts
    .map((c, i) => ({ c, i }))
    .sort((a, b) => Date.parse(a.c.occurredAt) - Date.parse(b.c.occurredAt) || a.i - b.i);
  const items: ReplayItem[] = [];
  for (const { c } of ordered) {
    const item = { checkoutId: c.checkoutId, occurredAt: c.occurredAt };
    if (Date.parse(c.occurredAt) > now + 300_000) {
      items.push({
        ...item,
        outcome: 'rejected',
        rejection: { code: 'VALIDATION_FAILED', message: 'occurredAt is in the future.' },
      });
      continue;
    }
    const before = await deps.db
      .selectFrom('checkout')
      .select('request_hash')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', c.checkoutId)
      .executeTakeFirst();
    try {
      const checkout = await commit({ ...deps, clock: fixedClock(new Date(c.occurredAt)) }, tenantId, c);
      items.push({ ...item, outcome: before ? 'already_committed' : 'committed', checkout });
    } catch (err) {
      if (!isAppError(err) || err.status >= 500) throw err;
      items.push({
        ...item,
        outcome: 'rejected',
        rejection: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
      });
    }
  }
  return { items };
}
