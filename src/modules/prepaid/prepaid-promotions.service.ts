import { requireAmounts } from '../../platform/amounts.ts';
import type { Db } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { pageOf, type TPageQuery } from '../../platform/pages.ts';
import { cancelPoints, grantPoints } from '../points/index.ts';
import type { TPromotion, TPromotionCreate, TPromotionGrant } from './prepaid.schemas.ts';
import type { PrepaidPromotionRow } from './prepaid.tables.ts';

// Charge promotions (충전 프로모션): charging at least X earns points (through the points module,
// in the charge's own transaction) and/or a coupon (an event for the coupon module), at most N times
// per member. The per-member count is raised by one upsert that stops at the limit, so two charges
// on two cards of the same member at the same moment cannot both pass it. Cancelling the charge
// takes back exactly what it earned.

type PromotionDeps = Pick<Deps, 'db' | 'clock'>;

const toPromotion = (r: PrepaidPromotionRow, granted?: number): TPromotion => ({
  id: r.id,
  name: r.name,
  minCharge: Number(r.min_charge),
  rewardPoints: r.reward_points === null ? null : Number(r.reward_points),
  rewardCouponId: r.reward_coupon_id,
  perMemberLimit: r.per_member_limit,
  channels: r.channels,
  startsAt: r.starts_at.toISOString(),
  endsAt: r.ends_at?.toISOString() ?? null,
  status: r.status,
  ...(granted !== undefined ? { remaining: Math.max(0, r.per_member_limit - granted) } : {}),
});

export async function createPromotion(
  deps: PromotionDeps & Pick<Deps, 'config'>,
  tenantId: string,
  input: TPromotionCreate,
): Promise<TPromotion> {
  requireAmounts(deps.config, { minCharge: input.minCharge, rewardPoints: input.rewardPoints });
  const row = await deps.db
    .insertInto('prepaid_promotion')
    .values({
      tenant_id: tenantId,
      id: input.id ?? newId('ppp'),
      name: input.name,
      min_charge: input.minCharge,
      reward_points: input.rewardPoints ?? null,
      reward_coupon_id: input.rewardCouponId ?? null,
      per_member_limit: input.perMemberLimit,
      channels: input.channels ?? null,
      starts_at: input.startsAt ? new Date(input.startsAt) : deps.clock.now(),
      ends_at: input.endsAt ? new Date(input.endsAt) : null,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError('CONFLICT', `Promotion ${input.id} exists already.`);
  return toPromotion(row);
}

/** Ends a promotion now: charges from here on earn nothing from it. */
export async function endPromotion(deps: PromotionDeps, tenantId: string, id: string): Promise<TPromotion> {
  const row = await deps.db
    .updateTable('prepaid_promotion')
    .set({ status: 'ended', ends_at: deps.clock.now() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No promotion ${id}.`);
  return toPromotion(row);
}

const running = (db: Db, tenantId: string, at: Date) =>
  db
    .selectFrom('prepaid_promotion')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'active')
    .where('starts_at', '<=', at)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', at)]));

/** Every promotion (the operator's list), or the running ones with what a member has left of each. */
/** The brand's charge promotions, newest first, a page at a time. */
export async function listPromotions(deps: Pick<Deps, 'db'>, tenantId: string, page: TPageQuery) {
  const rows = await deps.db
    .selectFrom('prepaid_promotion')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(page.cursor !== undefined, (q) => q.where('id', '<', page.cursor!))
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, (r) => toPromotion(r));
}

/** The promotions running now, with how many times the member had each (the app's charge screen). */
export async function memberPromotions(deps: PromotionDeps, tenantId: string, memberId: string): Promise<TPromotion[]> {
  const rows = await running(deps.db, tenantId, deps.clock.now()).orderBy('min_charge').execute();
  const counts = await deps.db
    .selectFrom('prepaid_promotion_member')
    .select(['promotion_id', 'granted'])
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .execute();
  const granted = new Map(counts.map((c) => [c.promotion_id, c.granted]));
  return rows.map((r) => toPromotion(r, granted.get(r.id) ?? 0));
}

/** Inside a charge's transaction: grants every running promotion the charge qualifies for, within each one's limit. */
export async function applyPromotions(
  deps: PromotionDeps,
  tenantId: string,
  charge: { chargeId: string; operationId: string; memberId: string; amount: number; channel: string },
): Promise<TPromotionGrant[]> {
  const promotions = await running(deps.db, tenantId, deps.clock.now())
    .where('min_charge', '<=', charge.amount)
    .orderBy('id')
    .execute();
  const grants: TPromotionGrant[] = [];
  for (const p of promotions) {
    if (p.channels && !p.channels.includes(charge.channel)) continue;
    const counted = await deps.db
      .insertInto('prepaid_promotion_member')
      .values({ tenant_id: tenantId, promotion_id: p.id, member_id: charge.memberId, granted: 1 })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'promotion_id', 'member_id'])
          .doUpdateSet((eb) => ({ granted: eb('prepaid_promotion_member.granted', '+', 1) }))
          .where('prepaid_promotion_member.granted', '<', p.per_member_limit),
      )
      .returning('granted')
      .executeTakeFirst();
    if (!counted) continue;
    const points = p.reward_points === null ? null : Number(p.reward_points);
    const pointsOperationId = points === null ? null : `pt.promo.${p.id}.${charge.chargeId}`;
    if (pointsOperationId) {
      await grantPoints(deps, tenantId, {
        id: pointsOperationId,
        kind: 'grant',
        code: 'PROMOTION',
        memberId: charge.memberId,
        amount: points!,
        reason: `charge promotion: ${p.name}`,
      });
    }
    if (p.reward_coupon_id) {
      await enqueueEvent(deps.db, tenantId, {
        topic: 'coupons.issue_requested',
        payload: {
          definitionId: p.reward_coupon_id,
          memberId: charge.memberId,
          source: 'prepaid_promotion',
          reference: `${charge.operationId}.${p.id}`,
        },
      });
    }
    await deps.db
      .insertInto('prepaid_promotion_grant')
      .values({
        tenant_id: tenantId,
        charge_id: charge.operationId,
        promotion_id: p.id,
        member_id: charge.memberId,
        points,
        points_operation_id: pointsOperationId,
        coupon_id: p.reward_coupon_id,
      })
      .execute();
    grants.push({ promotionId: p.id, name: p.name, points, couponDefinitionId: p.reward_coupon_id });
  }
  return grants;
}

/**
 * Inside a charge cancel's transaction: takes back what the charge earned and gives the member the
 * use back. Points already spent make the cancel fail (INSUFFICIENT_POINTS, why promotion_points_used):
 * the member would otherwise keep a reward for a charge they no longer paid for.
 */
export async function revokePromotions(
  deps: PromotionDeps,
  tenantId: string,
  chargeOperationId: string,
  cancelId: string,
): Promise<void> {
  const grants = await deps.db
    .selectFrom('prepaid_promotion_grant')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('charge_id', '=', chargeOperationId)
    .where('revoked', '=', false)
    .forUpdate()
    .execute();
  for (const g of grants) {
    if (g.points_operation_id) {
      try {
        await cancelPoints(deps, tenantId, {
          cancelId: `promo.${cancelId}.${g.promotion_id}`,
          operationId: g.points_operation_id,
        });
      } catch (err) {
        if (isAppError(err) && err.code === 'INSUFFICIENT_POINTS') {
          throw new AppError(
            'INSUFFICIENT_POINTS',
            `The ${g.points} points this charge earned were used: the charge cannot be cancelled.`,
            { ...err.details, why: 'promotion_points_used' },
          );
        }
        throw err;
      }
    }
    if (g.coupon_id) {
      await enqueueEvent(deps.db, tenantId, {
        topic: 'coupons.revoke_requested',
        payload: {
          definitionId: g.coupon_id,
          memberId: g.member_id,
          source: 'prepaid_promotion',
          reference: `${chargeOperationId}.${g.promotion_id}`,
        },
      });
    }
    await deps.db
      .updateTable('prepaid_promotion_member')
      .set((eb) => ({ granted: eb('granted', '-', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('promotion_id', '=', g.promotion_id)
      .where('member_id', '=', g.member_id)
      .execute();
    await deps.db
      .updateTable('prepaid_promotion_grant')
      .set({ revoked: true })
      .where('tenant_id', '=', tenantId)
      .where('charge_id', '=', chargeOperationId)
      .where('promotion_id', '=', g.promotion_id)
      .execute();
  }
}
