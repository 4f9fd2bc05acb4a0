import { sql } from 'kysely';
import { requireAmounts } from '../../platform/amounts.ts';
import { localDate } from '../../platform/clock.ts';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { pageOf, type TPageQuery } from '../../platform/pages.ts';
import { activeMemberIds, memberGrade, requireMember, setMemberGrade } from '../members/index.ts';
import { getTenant } from '../tenants/index.ts';
import { qualifiedLevel, reviewDue } from './grades.rules.ts';
import type { TGradeChange, TGradeLevel, TGradeSettings } from './grades.schemas.ts';
import type { GradeLevelRow } from './grades.tables.ts';

type GradesDeps = Pick<Deps, 'db' | 'clock'>;

const toLevel = (r: GradeLevelRow): TGradeLevel => ({
  code: r.code,
  name: r.name,
  rank: r.rank,
  accrualBp: r.accrual_bp,
  benefit: r.benefit,
  minOrders: r.min_orders,
  minAmount: Number(r.min_amount),
  windowDays: r.window_days,
});

async function levelRows(deps: Pick<Deps, 'db'>, tenantId: string) {
  return deps.db.selectFrom('grade_level').selectAll().where('tenant_id', '=', tenantId).orderBy('rank').execute();
}

export async function gradeSettings(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TGradeSettings> {
  const policy = await deps.db
    .selectFrom('grade_policy')
    .select('review_cycle')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return { levels: (await levelRows(deps, tenantId)).map(toLevel), reviewCycle: policy?.review_cycle ?? 'monthly' };
}

/** Replaces the tenant's levels (applied at the next review or evaluation; history stays). */
export async function setGradeSettings(
  deps: Pick<Deps, 'db' | 'config'>,
  tenantId: string,
  s: TGradeSettings,
): Promise<TGradeSettings> {
  requireAmounts(deps.config, Object.fromEntries(s.levels.map((l, i) => [`levels.${i}.minAmount`, l.minAmount])));
  const codes = new Set(s.levels.map((l) => l.code));
  if (codes.size !== s.levels.length) throw fieldError('levels', 'codes must be unique');
  if (new Set(s.levels.map((l) => l.rank)).size !== s.levels.length) throw fieldError('levels', 'ranks must be unique');
  await withTransaction(deps.db, async (trx) => {
    await trx.deleteFrom('grade_level').where('tenant_id', '=', tenantId).execute();
    await trx
      .insertInto('grade_level')
      .values(
        s.levels.map((l) => ({
          tenant_id: tenantId,
          code: l.code,
          name: l.name,
          rank: l.rank,
          accrual_bp: l.accrualBp,
          benefit: l.benefit,
          min_orders: l.minOrders,
          min_amount: l.minAmount,
          window_days: l.windowDays,
        })),
      )
      .execute();
    await trx
      .insertInto('grade_policy')
      .values({ tenant_id: tenantId, review_cycle: s.reviewCycle, last_review_at: null })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ review_cycle: s.reviewCycle }))
      .execute();
  });
  return gradeSettings(deps, tenantId);
}

/** Counts a purchase (or, negative, a cancellation) on the member's day in the tenant's time zone. */
export async function recordPurchase(
  deps: GradesDeps & Pick<Deps, 'config'>,
  tenantId: string,
  p: { memberId: string; amount: number; orders: number; at?: Date | undefined },
) {
  requireAmounts(deps.config, { amount: p.amount });
  await memberGrade(deps, tenantId, p.memberId); // the member must exist
  const tenant = await getTenant(deps, tenantId);
  const day = localDate(p.at ?? deps.clock.now(), tenant.timeZone);
  await deps.db
    .insertInto('grade_activity')
    .values({ tenant_id: tenantId, member_id: p.memberId, day, orders: p.orders, amount: p.amount })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'member_id', 'day']).doUpdateSet({
        orders: sql`grade_activity.orders + excluded.orders`,
        amount: sql`grade_activity.amount + excluded.amount`,
      }),
    )
    .execute();
}

async function changeTo(
  deps: GradesDeps,
  tenantId: string,
  memberId: string,
  from: string | null,
  to: string,
  change: { source: TGradeChange['source']; reason: string; actor?: string | undefined },
) {
  await setMemberGrade(deps, tenantId, memberId, to);
  await deps.db
    .insertInto('grade_change')
    .values({
      tenant_id: tenantId,
      id: newId('grc'),
      member_id: memberId,
      from_grade: from,
      to_grade: to,
      source: change.source,
      reason: change.reason,
      actor: change.actor ?? null,
    })
    .execute();
  await enqueueEvent(deps.db, tenantId, {
    topic: 'member.grade_changed',
    payload: { memberId, from, to, source: change.source },
  });
}

type Review = { levels: GradeLevelRow[]; today: string };

/** What an evaluation needs of the tenant: its levels and today in its time zone (once per review). */
async function reviewOf(deps: GradesDeps, tenantId: string): Promise<Review> {
  const levels = await levelRows(deps, tenantId);
  if (levels.length === 0) throw new AppError('CONFLICT', 'The brand has no grade levels yet: PUT /v1/grades first.');
  const tenant = await getTenant(deps, tenantId);
  return { levels, today: localDate(deps.clock.now(), tenant.timeZone) };
}

async function evaluate(deps: GradesDeps, tenantId: string, memberId: string, { levels, today }: Review) {
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const current = await memberGrade(d, tenantId, memberId, { forUpdate: true });
    const maxWindow = Math.max(...levels.map((l) => l.window_days));
    const activity = await trx
      .selectFrom('grade_activity')
      .select(['day', 'orders', 'amount'])
      .where('tenant_id', '=', tenantId)
      .where('member_id', '=', memberId)
      .where('day', '>', sql<string>`${today}::date - ${maxWindow}::int`)
      .execute();
    const level = qualifiedLevel(
      levels.map((l) => ({ ...l, minOrders: l.min_orders, minAmount: Number(l.min_amount), windowDays: l.window_days })),
      activity.map((a) => ({ day: a.day, orders: a.orders, amount: Number(a.amount) })),
      today,
    );
    const changed = current.grade !== level.code;
    if (changed) await changeTo(d, tenantId, memberId, current.grade, level.code, { source: 'review', reason: 'review' });
    return { memberId, grade: level.code, changed, level: toLevel(level) };
  });
}

/** Evaluates one member now: the highest level the purchases meet. Emits member.grade_changed on a change. */
export async function evaluateMember(deps: GradesDeps, tenantId: string, memberId: string) {
  return evaluate(deps, tenantId, memberId, await reviewOf(deps, tenantId));
}

/** An operator's change, with a mandatory reason; the next review may change it again. */
export async function changeGrade(
  deps: GradesDeps,
  tenantId: string,
  memberId: string,
  input: { grade: string; reason: string; actor?: string | undefined },
) {
  const levels = await levelRows(deps, tenantId);
  const level = levels.find((l) => l.code === input.grade);
  if (!level) throw fieldError('grade', `one of ${levels.map((l) => l.code).join(', ') || '(no levels yet)'}`);
  return withTransaction(deps.db, async (trx) => {
    const d = { ...deps, db: trx };
    const current = await memberGrade(d, tenantId, memberId, { forUpdate: true });
    const changed = current.grade !== level.code;
    if (changed)
      await changeTo(d, tenantId, memberId, current.grade, level.code, {
        source: 'manual',
        reason: input.reason,
        actor: input.actor,
      });
    return { memberId, grade: level.code, changed, level: toLevel(level) };
  });
}

/** A page of a member's grade changes, newest first. */
export async function gradeHistory(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  memberId: string,
  page: TPageQuery = { limit: 100 },
): Promise<{ items: TGradeChange[]; nextCursor: string | null }> {
  await requireMember(deps, tenantId, memberId);
  const rows = await deps.db
    .selectFrom('grade_change')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .$if(page.cursor !== undefined, (q) => q.where('id', '<', page.cursor!))
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, (r) => ({
    id: r.id,
    from: r.from_grade,
    to: r.to_grade,
    source: r.source,
    reason: r.reason,
    actor: r.actor,
    changedAt: r.changed_at.toISOString(),
  }));
}

/**
 * The review job: for each tenant whose cycle (daily, monthly, quarterly in its time zone) is due,
 * every active member is evaluated, a page at a time; then the review is recorded.
 */
export async function runGradeReviews(deps: GradesDeps, options: { tenantId?: string } = {}): Promise<number> {
  const policies = await deps.db
    .selectFrom('grade_policy')
    .selectAll()
    .$if(options.tenantId !== undefined, (q) => q.where('tenant_id', '=', options.tenantId!))
    .execute();
  let evaluated = 0;
  for (const p of policies) {
    const tenant = await getTenant(deps, p.tenant_id);
    const today = localDate(deps.clock.now(), tenant.timeZone);
    if (!reviewDue(p.review_cycle, p.last_review_at ? localDate(p.last_review_at, tenant.timeZone) : null, today)) continue;
    const review = await reviewOf(deps, p.tenant_id);
    for (let after = '', ids: string[]; (ids = await activeMemberIds(deps, p.tenant_id, after)).length > 0; after = ids.at(-1)!) {
      for (const id of ids) await evaluate(deps, p.tenant_id, id, review);
      evaluated += ids.length;
    }
    await deps.db
      .updateTable('grade_policy')
      .set({ last_review_at: deps.clock.now() })
      .where('tenant_id', '=', p.tenant_id)
      .execute();
  }
  return evaluated;
}
