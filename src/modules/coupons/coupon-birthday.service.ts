import { addDays, localDate } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { fillBirthDays, membersBornOn } from '../members/index.ts';
import { getTenant } from '../tenants/index.ts';
import { birthdaysOn } from './coupons.rules.ts';
import { issueFromEvent } from './coupons.service.ts';

// Birthday coupons, once a year per member: on the birthday, or a set number of days before, in
// the tenant's time zone. Members are found through the birthday index (month and day only); the
// reference `birthday.<year>.<member>` makes every run after the first issue nothing twice.

// A run also looks at the two days before, so a job that did not run for a while (a restart over
// midnight) still issues.
const CATCH_UP_DAYS = 3;
const PAGE = 500;

/** The birthday job (hourly): issues every active birthday definition to the members whose birthday is due. Returns how many were issued. */
export async function runBirthdayCoupons(
  deps: Pick<Deps, 'db' | 'clock' | 'log' | 'masterKey'>,
  options: { tenantId?: string } = {},
): Promise<number> {
  // Members from before the index was kept get their month-day first (a chunk at a time).
  while ((await fillBirthDays(deps)) > 0);
  let q = deps.db
    .selectFrom('coupon_definition')
    .select(['tenant_id', 'id', 'auto_issue_days_before'])
    .where('auto_issue', '=', 'birthday')
    .where('status', '=', 'active');
  if (options.tenantId) q = q.where('tenant_id', '=', options.tenantId);
  let issued = 0;
  for (const def of await q.execute()) {
    const today = localDate(deps.clock.now(), (await getTenant(deps, def.tenant_id)).timeZone);
    for (let back = CATCH_UP_DAYS - 1; back >= 0; back--) {
      const birthday = addDays(today, def.auto_issue_days_before - back);
      const ref = (memberId: string) => `birthday.${birthday.slice(0, 4)}.${memberId}`;
      for (let after = ''; ; ) {
        const ids = await membersBornOn(deps, def.tenant_id, birthdaysOn(birthday), after, PAGE);
        if (ids.length === 0) break;
        after = ids.at(-1)!;
        // Skip, in one read, those who have this year's coupon already.
        const have = await deps.db
          .selectFrom('coupon')
          .select('source_ref')
          .where('tenant_id', '=', def.tenant_id)
          .where('definition_id', '=', def.id)
          .where('source_ref', 'in', ids.map(ref))
          .execute();
        const done = new Set(have.map((r) => r.source_ref));
        for (const memberId of ids) {
          if (
            !done.has(ref(memberId)) &&
            (await issueFromEvent(deps, def.tenant_id, {
              definitionId: def.id,
              memberId,
              source: 'birthday',
              sourceRef: ref(memberId),
            }))
          )
            issued++;
        }
      }
    }
  }
  return issued;
}
