import { sql } from 'kysely';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { enqueueEvent } from '../../platform/events.ts';

// 'expired' is not a stored status (a coupon past valid_until is expired at that instant), so the
// `coupons.expired` event (webhook coupon.expired) comes from a sweep: active coupons whose validity
// ended, not yet reported, are marked and reported in the same transaction, once each. A use
// cancelled after the end makes the coupon active and expired again: reported then, if never before.

/** The sweep job: returns how many expiries it reported. Across tenants (moa_system), in chunks. */
export async function reportCouponExpiries(
  deps: Pick<Deps, 'db' | 'clock'>,
  options: { chunk?: number; tenantId?: string } = {},
): Promise<number> {
  const chunk = options.chunk ?? 500;
  let total = 0;
  for (;;) {
    const n = await withTransaction(deps.db, async (trx) => {
      const { rows } = await sql<{ tenant_id: string; id: string; member_id: string; valid_until: Date }>`
        update coupon c set expiry_reported = true
        from (select tenant_id, id from coupon
              where status = 'active' and not expiry_reported and valid_until <= ${deps.clock.now()}
                ${options.tenantId ? sql`and tenant_id = ${options.tenantId}` : sql``}
              limit ${chunk} for update skip locked) due
        where c.tenant_id = due.tenant_id and c.id = due.id
        returning c.tenant_id, c.id, c.member_id, c.valid_until`.execute(trx);
      for (const r of rows)
        await enqueueEvent(trx, r.tenant_id, {
          topic: 'coupons.expired',
          payload: { couponId: r.id, memberId: r.member_id, validUntil: new Date(r.valid_until).toISOString() },
        });
      return rows.length;
    });
    total += n;
    if (n < chunk) return total;
  }
}
