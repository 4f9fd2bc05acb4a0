import { randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { requireAmounts, requireBasketTotal } from '../../platform/amounts.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { type LimitDeps, limitSecretCheck } from '../../platform/limits.ts';
import type { OutboxMessage } from '../../platform/outbox.ts';
import { pageOf, type TPageQuery } from '../../platform/pages.ts';
import { piiFor } from '../../platform/pii.ts';
import { memberGrade, requireActiveMember, requireMember } from '../members/index.ts';
import { activeStore, requireStore } from '../stores/index.ts';
import { getTenant } from '../tenants/index.ts';
import { checkCoupon, hqShareOf, validityOf } from './coupons.rules.ts';
import {
  type TCoupon,
  type TDefinition,
  type TDefinitionRequest,
  type TOrderContext,
  type TRedemption,
  ZCouponRules,
} from './coupons.schemas.ts';
import type { CouponDefinitionRow, CouponRow, CouponSource } from './coupons.tables.ts';

// Coupons. Exactness lives in three conditional updates, each under one row lock:
// - the definition's `issued` rises only while below the total quantity (first-come, exact);
// - a member's `issued` per definition rises only while below the per-member limit;
// - a coupon's status goes active → used only once.
// Issuing locks the member counter, then the definition; using locks the coupon, then the member
// counter: no path waits for a lock in the opposite order of another, so they never deadlock.
// Issuance from events carries a source reference: one coupon per (definition, reference).

type CouponDeps = Pick<Deps, 'db' | 'clock'>;

/** An order's lines, amount and delivery fee within the maximum (before anything is written). */
function requireOrderAmounts(deps: Pick<Deps, 'config'>, order: TOrderContext): void {
  const items = requireBasketTotal(deps.config, order.items, 'order.items');
  requireAmounts(deps.config, {
    'order.amount': order.amount,
    'order.deliveryFee': order.deliveryFee,
    'order.total': (order.amount ?? items) + order.deliveryFee,
  });
}

const toDefinition = (r: CouponDefinitionRow): TDefinition => ({
  id: r.id,
  name: r.name,
  status: r.status,
  rules: ZCouponRules.parse(r.rules),
  downloadable: r.downloadable,
  autoIssue: r.auto_issue,
  autoIssueGrade: r.auto_issue_grade,
  autoIssueDaysBefore: r.auto_issue_days_before,
  totalQuantity: r.total_quantity,
  perMemberLimit: r.per_member_limit,
  issueFrom: r.issue_from?.toISOString() ?? null,
  issueUntil: r.issue_until?.toISOString() ?? null,
  issued: r.issued,
  createdAt: r.created_at.toISOString(),
});

function toCoupon(r: CouponRow, d: Pick<TDefinition, 'name' | 'rules'>, now: Date): TCoupon {
  return {
    id: r.id,
    definitionId: r.definition_id,
    name: d.name,
    memberId: r.member_id,
    status: r.status === 'active' && now >= r.valid_until ? 'expired' : r.status,
    validFrom: r.valid_from.toISOString(),
    validUntil: r.valid_until.toISOString(),
    source: r.source,
    benefit: d.rules.benefit,
    stacking: d.rules.stacking,
    usedAt: r.used_at?.toISOString() ?? null,
    issuedAt: r.issued_at.toISOString(),
  };
}

// ---- definitions

export async function createDefinition(
  deps: CouponDeps & Pick<Deps, 'config'>,
  tenantId: string,
  input: TDefinitionRequest,
): Promise<TDefinition> {
  const b = input.rules.benefit;
  requireAmounts(deps.config, {
    'rules.benefit.amount': b.kind === 'amount' || b.kind === 'delivery' ? b.amount : undefined,
    'rules.benefit.maxDiscount': b.kind === 'percent' ? b.maxDiscount : undefined,
    'rules.minOrderAmount': input.rules.minOrderAmount,
  });
  const v = input.rules.validity;
  if (v.kind === 'fixed' && v.until <= v.from) throw fieldError('rules.validity.until', 'must be after from');
  if (input.issueFrom && input.issueUntil && input.issueUntil <= input.issueFrom)
    throw fieldError('issueUntil', 'must be after issueFrom');
  if (input.autoIssue === 'grade_up' && !input.autoIssueGrade)
    throw fieldError('autoIssueGrade', 'grade_up needs the grade it is issued on reaching');
  const row = await deps.db
    .insertInto('coupon_definition')
    .values({
      tenant_id: tenantId,
      id: input.id ?? newId('cpd'),
      name: input.name,
      rules: JSON.stringify(input.rules),
      downloadable: input.downloadable,
      auto_issue: input.autoIssue,
      auto_issue_grade: input.autoIssueGrade,
      auto_issue_days_before: input.autoIssueDaysBefore,
      total_quantity: input.totalQuantity,
      per_member_limit: input.perMemberLimit,
      issue_from: input.issueFrom ? new Date(input.issueFrom) : null,
      issue_until: input.issueUntil ? new Date(input.issueUntil) : null,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError('CONFLICT', `Coupon definition ${input.id} exists already.`);
  return toDefinition(row);
}

async function definitionRow(db: Db, tenantId: string, id: string): Promise<CouponDefinitionRow> {
  const row = await db
    .selectFrom('coupon_definition')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No coupon definition ${id}.`);
  return row;
}

export const getDefinition = async (deps: Pick<Deps, 'db'>, tenantId: string, id: string) =>
  toDefinition(await definitionRow(deps.db, tenantId, id));

/** A page of definitions, newest first (optionally of one status); the cursor is the last item's. */
export async function listDefinitions(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  page: { limit: number; cursor?: string | undefined; status?: CouponDefinitionRow['status'] | undefined },
): Promise<{ items: TDefinition[]; nextCursor: string | null }> {
  let q = deps.db
    .selectFrom('coupon_definition as d')
    .selectAll('d')
    .where('d.tenant_id', '=', tenantId)
    .where(await afterDefinition(deps.db, tenantId, page.cursor));
  if (page.status) q = q.where('d.status', '=', page.status);
  const rows = await q
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, toDefinition);
}

/**
 * Definitions are listed newest first (`d`); a cursor is the last definition's id, and the next
 * page starts after its exact stored time (a JavaScript Date would drop the microseconds).
 */
async function afterDefinition(db: Db, tenantId: string, cursor: string | undefined) {
  if (cursor === undefined) return sql<boolean>`true`;
  const known = await db
    .selectFrom('coupon_definition')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', cursor)
    .executeTakeFirst();
  if (!known) throw new AppError('VALIDATION_FAILED', 'Invalid cursor.');
  return sql<boolean>`(d.created_at, d.id) < (select created_at, id from coupon_definition where tenant_id = ${tenantId} and id = ${cursor})`;
}

/** Pauses, resumes or ends a definition: paused or ended, its coupons are neither issued nor used. */
export async function setDefinitionStatus(
  deps: CouponDeps,
  tenantId: string,
  id: string,
  status: CouponDefinitionRow['status'],
): Promise<TDefinition> {
  const row = await deps.db
    .updateTable('coupon_definition')
    .set({ status, updated_at: deps.clock.now() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No coupon definition ${id}.`);
  return toDefinition(row);
}

// ---- issuing

export type IssueRequest = { definitionId: string; memberId: string; source: CouponSource; sourceRef?: string | undefined };

/**
 * Issues one coupon of a definition to a member: within the issue period, the per-member limit
 * (COUPON_MEMBER_LIMIT) and the first-come total (COUPON_EXHAUSTED), all or nothing. With a
 * source reference it is idempotent: the same reference returns the coupon it issued.
 */
export async function issueCoupon(deps: CouponDeps, tenantId: string, req: IssueRequest): Promise<TCoupon> {
  return withTransaction(deps.db, async (trx) => {
    const now = deps.clock.now();
    const def = await definitionRow(trx, tenantId, req.definitionId);
    const d = toDefinition(def);
    if (req.sourceRef) {
      const existing = await trx
        .selectFrom('coupon')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('definition_id', '=', def.id)
        .where('source_ref', '=', req.sourceRef)
        .executeTakeFirst();
      if (existing) return toCoupon(existing, d, now);
    }
    await requireActiveMember({ db: trx }, tenantId, req.memberId);
    if (req.source === 'download' && !def.downloadable)
      throw new AppError('COUPON_NOT_DOWNLOADABLE', `${def.name} is not offered for download.`, { definitionId: def.id });
    if (def.status !== 'active' || (def.issue_from && now < def.issue_from) || (def.issue_until && now >= def.issue_until)) {
      throw new AppError('COUPON_NOT_ISSUING', `${def.name} is not being issued now.`, {
        status: def.status,
        issueFrom: d.issueFrom,
        issueUntil: d.issueUntil,
      });
    }
    const counted = await trx
      .insertInto('coupon_member')
      .values({ tenant_id: tenantId, definition_id: def.id, member_id: req.memberId, issued: 1 })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'definition_id', 'member_id'])
          .doUpdateSet((eb) => ({ issued: eb('coupon_member.issued', '+', 1) }))
          .where('coupon_member.issued', '<', def.per_member_limit),
      )
      .returning('issued')
      .executeTakeFirst();
    if (!counted)
      throw new AppError('COUPON_MEMBER_LIMIT', `A member is issued at most ${def.per_member_limit} of ${def.name}.`, {
        perMemberLimit: def.per_member_limit,
      });
    const taken = await trx
      .updateTable('coupon_definition')
      .set((eb) => ({ issued: eb('issued', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', def.id)
      .where((eb) => eb.or([eb('total_quantity', 'is', null), eb('issued', '<', eb.ref('total_quantity'))]))
      .returning('issued')
      .executeTakeFirst();
    if (!taken)
      throw new AppError('COUPON_EXHAUSTED', `All ${def.total_quantity} of ${def.name} are issued.`, {
        totalQuantity: def.total_quantity,
      });
    const { from, until } = validityOf(d.rules, now, (await getTenant({ db: trx }, tenantId)).timeZone);
    const row = await trx
      .insertInto('coupon')
      .values({
        tenant_id: tenantId,
        id: newId('cpn'),
        definition_id: def.id,
        member_id: req.memberId,
        valid_from: from,
        valid_until: until,
        source: req.source,
        source_ref: req.sourceRef ?? null,
        use_id: null,
        used_at: null,
        issued_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await enqueueEvent(trx, tenantId, {
      topic: 'coupons.issued',
      payload: {
        couponId: row.id,
        definitionId: def.id,
        memberId: req.memberId,
        source: req.source,
        validUntil: until.toISOString(),
      },
    });
    return toCoupon(row, d, now);
  });
}

/** The definitions a member may download now, with how many more they can take. */
export async function downloadable(
  deps: CouponDeps,
  tenantId: string,
  memberId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: (TDefinition & { remaining: number })[]; nextCursor: string | null }> {
  const now = deps.clock.now();
  const rows = await deps.db
    .selectFrom('coupon_definition as d')
    .leftJoin('coupon_member as m', (j) =>
      j.onRef('m.tenant_id', '=', 'd.tenant_id').onRef('m.definition_id', '=', 'd.id').on('m.member_id', '=', memberId),
    )
    .selectAll('d')
    .select('m.issued as member_issued')
    .where('d.tenant_id', '=', tenantId)
    .where('d.downloadable', '=', true)
    .where('d.status', '=', 'active')
    .where((eb) =>
      eb.and([
        eb.or([eb('d.issue_from', 'is', null), eb('d.issue_from', '<=', now)]),
        eb.or([eb('d.issue_until', 'is', null), eb('d.issue_until', '>', now)]),
      ]),
    )
    .where((eb) => eb.or([eb('d.total_quantity', 'is', null), eb('d.issued', '<', eb.ref('d.total_quantity'))]))
    .where(await afterDefinition(deps.db, tenantId, page.cursor))
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, (r) => ({
    ...toDefinition(r),
    remaining: Math.max(0, r.per_member_limit - (r.member_issued ?? 0)),
  }));
}

const PIN_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const normalizePin = (pin: string) => pin.toUpperCase().replace(/[^A-Z0-9]/g, '');

/** A batch of PIN codes for a definition, shown this once (only their keyed hashes are kept). */
export async function generatePins(
  deps: CouponDeps & Pick<Deps, 'masterKey'>,
  tenantId: string,
  definitionId: string,
  count: number,
): Promise<{ batchId: string; definitionId: string; pins: string[] }> {
  await definitionRow(deps.db, tenantId, definitionId);
  const pii = piiFor(deps.masterKey);
  const batchId = newId('pinb');
  const pins = new Set<string>();
  while (pins.size < count) pins.add(Array.from({ length: 12 }, () => PIN_ALPHABET[randomInt(PIN_ALPHABET.length)]).join(''));
  const list = [...pins].map((p) => `${p.slice(0, 4)}-${p.slice(4, 8)}-${p.slice(8)}`);
  await withTransaction(deps.db, async (trx) => {
    for (let i = 0; i < list.length; i += 1_000) {
      await trx
        .insertInto('coupon_pin')
        .values(
          list.slice(i, i + 1_000).map((p) => ({
            tenant_id: tenantId,
            pin_hash: pii.hash(tenantId, 'coupon-pin', normalizePin(p)),
            definition_id: definitionId,
            batch_id: batchId,
            coupon_id: null,
            registered_at: null,
          })),
        )
        .execute();
    }
  });
  return { batchId, definitionId, pins: list };
}

/**
 * The rate limits on PIN registration, per member and per client IP (platform/limits.ts), taken
 * before the write's transaction so that a rejection rolled back with it still counts, and a
 * RATE_LIMITED answer is never stored under the Idempotency-Key. A 12-character PIN cannot be
 * guessed in that many tries; the rate keeps anyone from trying.
 */
export async function limitPinRegistration(deps: LimitDeps, tenantId: string, memberId: string, ip?: string): Promise<void> {
  await limitSecretCheck(deps, tenantId, { kind: 'coupon_pin', credential: memberId, ip });
}

/** A member registers a PIN code and receives its coupon; a PIN works once (COUPON_PIN_INVALID otherwise). */
export async function registerPin(
  deps: CouponDeps & Pick<Deps, 'masterKey'>,
  tenantId: string,
  memberId: string,
  pin: string,
): Promise<TCoupon> {
  const hash = piiFor(deps.masterKey).hash(tenantId, 'coupon-pin', normalizePin(pin));
  return withTransaction(deps.db, async (trx) => {
    const row = await trx
      .selectFrom('coupon_pin')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('pin_hash', '=', hash)
      .forUpdate()
      .executeTakeFirst();
    if (!row || row.coupon_id !== null) throw new AppError('COUPON_PIN_INVALID', 'No unregistered coupon PIN matches.');
    const coupon = await issueCoupon({ ...deps, db: trx }, tenantId, {
      definitionId: row.definition_id,
      memberId,
      source: 'pin',
      sourceRef: `pin.${hash.slice(0, 40)}`,
    });
    await trx
      .updateTable('coupon_pin')
      .set({ coupon_id: coupon.id, registered_at: deps.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('pin_hash', '=', hash)
      .execute();
    return coupon;
  });
}

// ---- the member's coupons

/** A member's coupons, newest first: all, the usable ones, or the given ones. */
export async function memberCoupons(
  deps: CouponDeps,
  tenantId: string,
  memberId: string,
  options: { usableOnly?: boolean; ids?: string[]; before?: string | undefined; limit?: number } = {},
): Promise<TCoupon[]> {
  if (options.ids?.length === 0) return [];
  const now = deps.clock.now();
  let q = deps.db
    .selectFrom('coupon as c')
    .innerJoin('coupon_definition as d', (j) => j.onRef('d.tenant_id', '=', 'c.tenant_id').onRef('d.id', '=', 'c.definition_id'))
    .selectAll('c')
    .select(['d.name', 'd.rules'])
    .where('c.tenant_id', '=', tenantId)
    .where('c.member_id', '=', memberId);
  if (options.usableOnly) q = q.where('c.status', '=', 'active').where('c.valid_until', '>', now);
  if (options.ids) q = q.where('c.id', 'in', options.ids);
  if (options.before) q = q.where('c.id', '<', options.before);
  // Newest first: ids are time-ordered, so the order is the issue order and a page's cursor one comparison.
  const rows = await q
    .orderBy('c.id', 'desc')
    .limit(options.limit ?? 500)
    .execute();
  return rows.map((r) => toCoupon(r, { name: r.name, rules: ZCouponRules.parse(r.rules) }, now));
}

/**
 * A page of a member's coupons, newest first (usable ones, or all): NOT_FOUND for an unknown
 * member (or one of another tenant).
 */
export async function couponsOfMember(
  deps: CouponDeps,
  tenantId: string,
  memberId: string,
  query: TPageQuery & { all: boolean },
): Promise<{ items: TCoupon[]; nextCursor: string | null }> {
  await requireMember(deps, tenantId, memberId);
  const rows = await memberCoupons(deps, tenantId, memberId, {
    usableOnly: !query.all,
    before: query.cursor,
    limit: query.limit + 1,
  });
  return pageOf(rows, query.limit, (c) => c);
}

async function lockCoupon(db: Db, tenantId: string, couponId: string, memberId?: string): Promise<CouponRow> {
  const row = await db
    .selectFrom('coupon')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', couponId)
    .forUpdate()
    .executeTakeFirst();
  if (!row || (memberId !== undefined && row.member_id !== memberId)) throw new AppError('NOT_FOUND', `No coupon ${couponId}.`);
  return row;
}

// ---- using

/** What the rules need besides the coupon: the member's grade, the tenant's zone, the store's region (only when a rule asks). */
async function contextFor(deps: CouponDeps, tenantId: string, memberId: string, order: TOrderContext, needsRegion: boolean) {
  const member = await memberGrade(deps, tenantId, memberId);
  const tenant = await getTenant(deps, tenantId);
  const store = order.storeId && needsRegion ? await activeStore(deps, tenantId, order.storeId) : undefined;
  return { grade: member.grade, timeZone: tenant.timeZone, storeRegion: store?.region ?? null, now: deps.clock.now() };
}

const usesOf = (db: Db, tenantId: string, memberId: string, definitionIds: string[]) =>
  db
    .selectFrom('coupon_member')
    .select(['definition_id', 'used'])
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .where('definition_id', 'in', definitionIds)
    .execute();

const checkWith = (
  ctx: Awaited<ReturnType<typeof contextFor>>,
  d: TDefinition,
  coupon: CouponRow,
  memberUses: number,
  order: TOrderContext,
  holdId?: string,
) =>
  checkCoupon(d.rules, {
    now: ctx.now,
    timeZone: ctx.timeZone,
    definitionStatus: d.status,
    coupon: { status: coupon.status, validFrom: coupon.valid_from, validUntil: coupon.valid_until, heldUntil: coupon.held_until },
    holdMatches: holdId !== undefined && holdId === coupon.hold_id,
    grade: ctx.grade,
    storeRegion: ctx.storeRegion,
    memberUses,
    order,
  });

/** Everything the rules need about a member's coupon and an order, read in the caller's transaction. */
async function checkFor(
  deps: CouponDeps,
  tenantId: string,
  coupon: CouponRow,
  def: CouponDefinitionRow,
  order: TOrderContext,
  holdId?: string,
) {
  const d = toDefinition(def);
  const ctx = await contextFor(deps, tenantId, coupon.member_id, order, d.rules.regions.length > 0);
  const [uses] = await usesOf(deps.db, tenantId, coupon.member_id, [def.id]);
  return { d, check: checkWith(ctx, d, coupon, uses?.used ?? 0, order, holdId) };
}

/**
 * Every usable coupon of a member against an order (the checkout quote), newest first: what each
 * takes off or the rule it breaks. Read in four statements however many coupons there are.
 */
export async function validateMemberCoupons(deps: CouponDeps, tenantId: string, memberId: string, order: TOrderContext) {
  const now = deps.clock.now();
  const coupons = await deps.db
    .selectFrom('coupon')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .where('status', '=', 'active')
    .where('valid_until', '>', now)
    .orderBy('issued_at', 'desc')
    .limit(500)
    .execute();
  if (coupons.length === 0) return [];
  const ids = [...new Set(coupons.map((c) => c.definition_id))];
  const defs = new Map(
    (
      await deps.db.selectFrom('coupon_definition').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).execute()
    ).map((r) => [r.id, toDefinition(r)]),
  );
  const uses = new Map((await usesOf(deps.db, tenantId, memberId, ids)).map((u) => [u.definition_id, u.used]));
  const ctx = await contextFor(
    deps,
    tenantId,
    memberId,
    order,
    [...defs.values()].some((d) => d.rules.regions.length > 0),
  );
  return coupons.map((c) => {
    const d = defs.get(c.definition_id)!;
    const check = checkWith(ctx, d, c, uses.get(d.id) ?? 0, order);
    return { coupon: toCoupon(c, d, now), ...outcomeOf(check) };
  });
}

/** Whether a member's coupon applies to an order and what it takes off; nothing is written. */
export async function validateCoupon(
  deps: CouponDeps & Pick<Deps, 'config'>,
  tenantId: string,
  input: { memberId: string; couponId: string; order: TOrderContext },
) {
  requireOrderAmounts(deps, input.order);
  const coupon = await deps.db
    .selectFrom('coupon')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', input.couponId)
    .executeTakeFirst();
  if (!coupon || coupon.member_id !== input.memberId) throw new AppError('NOT_FOUND', `No coupon ${input.couponId}.`);
  const { check } = await checkFor(
    deps,
    tenantId,
    coupon,
    await definitionRow(deps.db, tenantId, coupon.definition_id),
    input.order,
  );
  return outcomeOf(check);
}

/** A check as an answer: the discount, or the refusing rule. */
const outcomeOf = (check: ReturnType<typeof checkWith>) =>
  check.ok
    ? { applicable: true, discount: check.discount }
    : { applicable: false, discount: 0, rejection: { code: check.code, message: check.message, details: check.details } };

const toRedemption = (r: {
  id: string;
  coupon_id: string;
  definition_id: string;
  order_id: string;
  discount: number;
  hq_share: number;
  cancelled_at: Date | null;
  created_at: Date;
}): TRedemption => ({
  id: r.id,
  couponId: r.coupon_id,
  definitionId: r.definition_id,
  orderId: r.order_id,
  discount: Number(r.discount),
  hqShare: Number(r.hq_share),
  storeShare: Number(r.discount) - Number(r.hq_share),
  cancelled: r.cancelled_at !== null,
  createdAt: r.created_at.toISOString(),
});

/**
 * Uses a member's coupon on an order: every rule is checked under the coupon's row lock, then the
 * coupon is used exactly once (COUPON_ALREADY_USED for the second), with the discount and its
 * HQ/store shares recorded.
 */
export async function redeemCoupon(
  deps: CouponDeps & Pick<Deps, 'config'>,
  tenantId: string,
  input: { memberId: string; couponId: string; order: TOrderContext; cap?: number | undefined; holdId?: string | undefined },
): Promise<TRedemption> {
  requireOrderAmounts(deps, input.order);
  return withTransaction(deps.db, async (trx) => {
    const d0 = { ...deps, db: trx };
    if (input.order.storeId !== undefined) await requireStore(d0, tenantId, input.order.storeId);
    const coupon = await lockCoupon(trx, tenantId, input.couponId, input.memberId);
    const def = await definitionRow(trx, tenantId, coupon.definition_id);
    const { d, check } = await checkFor(d0, tenantId, coupon, def, input.order, input.holdId);
    if (!check.ok) throw new AppError(check.code, check.message, { couponId: coupon.id, ...check.details });
    if (d.rules.usesPerMember !== null) {
      const counted = await trx
        .updateTable('coupon_member')
        .set((eb) => ({ used: eb('used', '+', 1) }))
        .where('tenant_id', '=', tenantId)
        .where('definition_id', '=', def.id)
        .where('member_id', '=', coupon.member_id)
        .where('used', '<', d.rules.usesPerMember)
        .returning('used')
        .executeTakeFirst();
      if (!counted)
        throw new AppError('COUPON_MEMBER_USE_LIMIT', `A member uses at most ${d.rules.usesPerMember} of these coupons.`, {
          couponId: coupon.id,
          usesPerMember: d.rules.usesPerMember,
        });
    } else {
      await trx
        .updateTable('coupon_member')
        .set((eb) => ({ used: eb('used', '+', 1) }))
        .where('tenant_id', '=', tenantId)
        .where('definition_id', '=', def.id)
        .where('member_id', '=', coupon.member_id)
        .execute();
    }
    const useId = `cp.use.${input.order.orderId}.${coupon.id}`;
    const now = deps.clock.now();
    // Stacked with others (a checkout), it takes off no more than the order has left.
    const discount = Math.min(check.discount, input.cap ?? Infinity);
    await trx
      .updateTable('coupon')
      .set({ status: 'used', use_id: useId, used_at: now, hold_id: null, held_until: null })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', coupon.id)
      .where('status', '=', 'active')
      .execute();
    const row = await trx
      .insertInto('coupon_use')
      .values({
        tenant_id: tenantId,
        id: useId,
        coupon_id: coupon.id,
        definition_id: def.id,
        member_id: coupon.member_id,
        order_id: input.order.orderId,
        channel: input.order.channel,
        store_id: input.order.storeId ?? null,
        discount,
        hq_share: hqShareOf(d.rules, discount),
        cancelled_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await enqueueEvent(trx, tenantId, {
      topic: 'coupons.used',
      payload: { couponId: coupon.id, memberId: coupon.member_id, useId, orderId: input.order.orderId, discount },
    });
    return toRedemption(row);
  });
}

/**
 * Holds a member's coupons while a payment is in progress (10 minutes by default): until then only
 * this hold can use them (COUPON_HELD for anyone else). Holding again with the same id extends it;
 * a hold that times out simply ends.
 */
export async function holdCoupons(
  deps: CouponDeps,
  tenantId: string,
  input: { holdId: string; memberId: string; couponIds: string[]; ttlSeconds: number },
) {
  return withTransaction(deps.db, async (trx) => {
    const now = deps.clock.now();
    const heldUntil = new Date(now.getTime() + input.ttlSeconds * 1000);
    for (const id of [...new Set(input.couponIds)].sort()) {
      const c = await lockCoupon(trx, tenantId, id, input.memberId);
      const refuse = (
        code: 'COUPON_ALREADY_USED' | 'COUPON_REVOKED' | 'COUPON_EXPIRED' | 'COUPON_HELD',
        message: string,
        details: Record<string, unknown> = {},
      ) => new AppError(code, message, { couponId: id, ...details });
      if (c.status === 'used') throw refuse('COUPON_ALREADY_USED', 'The coupon has been used.');
      if (c.status === 'revoked') throw refuse('COUPON_REVOKED', 'The coupon was taken back.');
      if (now >= c.valid_until)
        throw refuse('COUPON_EXPIRED', 'The coupon has expired.', { validUntil: c.valid_until.toISOString() });
      if (c.held_until && c.held_until > now && c.hold_id !== input.holdId)
        throw refuse('COUPON_HELD', 'The coupon is held for another payment.', { heldUntil: c.held_until.toISOString() });
      await trx
        .updateTable('coupon')
        .set({ hold_id: input.holdId, held_until: heldUntil })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    }
    return { holdId: input.holdId, couponIds: [...new Set(input.couponIds)].sort(), heldUntil: heldUntil.toISOString() };
  });
}

/** Ends a hold before its time (the payment failed or was abandoned): its coupons are free again. */
export async function releaseHold(
  deps: CouponDeps,
  tenantId: string,
  holdId: string,
): Promise<{ holdId: string; released: number }> {
  const rows = await deps.db
    .updateTable('coupon')
    .set({ hold_id: null, held_until: null })
    .where('tenant_id', '=', tenantId)
    .where('hold_id', '=', holdId)
    .returning('id')
    .execute();
  return { holdId, released: rows.length };
}

/** Cancels a use: the coupon is active again (expired if its validity has ended) and the member's use is given back. */
export async function cancelRedemption(deps: CouponDeps, tenantId: string, useId: string): Promise<TRedemption> {
  return withTransaction(deps.db, async (trx) => {
    const use = await trx
      .selectFrom('coupon_use')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', useId)
      .forUpdate()
      .executeTakeFirst();
    if (!use) throw new AppError('NOT_FOUND', `No coupon use ${useId}.`);
    if (use.cancelled_at) throw new AppError('OPERATION_NOT_CANCELLABLE', 'The use is cancelled already.', { why: 'cancelled' });
    const now = deps.clock.now();
    await trx
      .updateTable('coupon')
      .set({ status: 'active', use_id: null, used_at: null })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', use.coupon_id)
      .where('use_id', '=', useId)
      .execute();
    await trx
      .updateTable('coupon_member')
      .set((eb) => ({ used: eb('used', '-', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('definition_id', '=', use.definition_id)
      .where('member_id', '=', use.member_id)
      .where('used', '>', 0)
      .execute();
    const row = await trx
      .updateTable('coupon_use')
      .set({ cancelled_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', useId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await enqueueEvent(trx, tenantId, {
      topic: 'coupons.use_cancelled',
      payload: { couponId: use.coupon_id, memberId: use.member_id, useId },
    });
    return toRedemption(row);
  });
}

/** Gives an active, giftable coupon to another member. */
export async function giftCoupon(
  deps: CouponDeps,
  tenantId: string,
  memberId: string,
  couponId: string,
  input: { giftId: string; toMemberId: string },
): Promise<TCoupon> {
  if (input.toMemberId === memberId) throw fieldError('toMemberId', 'must be another member');
  return withTransaction(deps.db, async (trx) => {
    const coupon = await lockCoupon(trx, tenantId, couponId, memberId);
    const d = toDefinition(await definitionRow(trx, tenantId, coupon.definition_id));
    const now = deps.clock.now();
    if (!d.rules.giftable || coupon.status !== 'active' || now >= coupon.valid_until) {
      throw new AppError(
        'COUPON_NOT_GIFTABLE',
        d.rules.giftable ? 'Only an active, unexpired coupon can be given.' : `${d.name} cannot be given.`,
        { giftable: d.rules.giftable, status: toCoupon(coupon, d, now).status },
      );
    }
    await requireActiveMember({ db: trx }, tenantId, input.toMemberId);
    await trx
      .insertInto('coupon_gift')
      .values({
        tenant_id: tenantId,
        id: input.giftId,
        coupon_id: couponId,
        from_member_id: memberId,
        to_member_id: input.toMemberId,
      })
      .execute();
    const row = await trx
      .updateTable('coupon')
      .set({ member_id: input.toMemberId })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', couponId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await enqueueEvent(trx, tenantId, {
      topic: 'coupons.gift_received',
      payload: { couponId, fromMemberId: memberId, toMemberId: input.toMemberId },
    });
    return toCoupon(row, d, now);
  });
}

// ---- events from other modules

/** Issues from an event, at least once: a refusal by the rules (sold out, limit) is final, not retried. Whether it was issued (or had been). */
export async function issueFromEvent(
  deps: CouponDeps & Pick<Deps, 'log'>,
  tenantId: string,
  req: IssueRequest,
): Promise<boolean> {
  try {
    await issueCoupon(deps, tenantId, req);
    return true;
  } catch (err) {
    if (!isAppError(err) || err.status >= 500) throw err;
    deps.log.info({ tenantId, ...req, code: err.code }, 'coupon not issued from an event');
    return false;
  }
}

async function autoIssue(
  deps: CouponDeps & Pick<Deps, 'log'>,
  tenantId: string,
  memberId: string,
  trigger: 'signup' | 'grade_up' | 'first_order',
  grade?: string,
) {
  let q = deps.db
    .selectFrom('coupon_definition')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('auto_issue', '=', trigger)
    .where('status', '=', 'active');
  if (grade !== undefined) q = q.where('auto_issue_grade', '=', grade);
  // The reference names the member: one coupon per member and occasion, however often the event comes.
  const sourceRef = [trigger, grade, memberId].filter(Boolean).join('.');
  for (const d of await q.execute())
    await issueFromEvent(deps, tenantId, { definitionId: d.id, memberId, source: trigger, sourceRef });
}

export function registerCouponHandlers(deps: CouponDeps & Pick<Deps, 'log' | 'outbox'>): void {
  const payload = <T>(m: OutboxMessage) => m.payload as T;
  deps.outbox.register('member.joined', 'coupons.signup', (m) =>
    autoIssue(deps, m.tenantId, payload<{ memberId: string }>(m).memberId, 'signup'),
  );
  deps.outbox.register('member.grade_changed', 'coupons.grade-up', (m) => {
    const p = payload<{ memberId: string; to: string | null }>(m);
    return p.to ? autoIssue(deps, m.tenantId, p.memberId, 'grade_up', p.to) : Promise.resolve();
  });
  deps.outbox.register('checkout.committed', 'coupons.first-order', (m) => {
    const p = payload<{ memberId: string; firstOrder?: boolean }>(m);
    return p.firstOrder ? autoIssue(deps, m.tenantId, p.memberId, 'first_order') : Promise.resolve();
  });
  deps.outbox.register('coupons.issue_requested', 'coupons.issue', async (m) => {
    const p = payload<{ definitionId: string; memberId: string; reference: string }>(m);
    await issueFromEvent(deps, m.tenantId, {
      definitionId: p.definitionId,
      memberId: p.memberId,
      source: 'promotion',
      sourceRef: p.reference,
    });
  });
  deps.outbox.register('coupons.revoke_requested', 'coupons.revoke', async (m) => {
    const p = payload<{ definitionId: string; reference: string }>(m);
    // A coupon already used stays used: the order it discounted happened.
    await deps.db
      .updateTable('coupon')
      .set({ status: 'revoked' })
      .where('tenant_id', '=', m.tenantId)
      .where('definition_id', '=', p.definitionId)
      .where('source_ref', '=', p.reference)
      .where('status', '=', 'active')
      .execute();
  });
  deps.outbox.register('stamps.board_completed', 'coupons.stamp-reward', async (m) => {
    const p = payload<{ cardId: string; memberId: string; board: number; reward: { type: string; couponDefinitionId?: string } }>(
      m,
    );
    if (p.reward.type !== 'coupon' || !p.reward.couponDefinitionId) return;
    await issueFromEvent(deps, m.tenantId, {
      definitionId: p.reward.couponDefinitionId,
      memberId: p.memberId,
      source: 'stamps',
      sourceRef: `stamps.${p.cardId}.${p.memberId}.${p.board}`,
    });
  });
}
