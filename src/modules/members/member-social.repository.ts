import { type Insertable, sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type { MemberSocialStateTable } from './members.tables.ts';

export async function insertState(db: Db, row: Insertable<MemberSocialStateTable>) {
  await db.insertInto('member_social_state').values(row).execute();
}

/** Uses a state once: it must be ours, unexpired, for this provider and intent (and member). */
export function useState(
  db: Db,
  tenantId: string,
  state: string,
  provider: string,
  intent: 'login' | 'link',
  now: Date,
  memberId?: string,
) {
  return db
    .updateTable('member_social_state')
    .set({ used_at: now })
    .where('tenant_id', '=', tenantId)
    .where('state', '=', state)
    .where('provider', '=', provider)
    .where('intent', '=', intent)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .$if(memberId !== undefined, (q) => q.where('member_id', '=', memberId!))
    .returningAll()
    .executeTakeFirst();
}

export function findLink(db: Db, tenantId: string, provider: string, providerUserId: string) {
  return db
    .selectFrom('member_social_link')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('provider', '=', provider)
    .where('provider_user_id', '=', providerUserId)
    .executeTakeFirst();
}

export function insertLink(db: Db, tenantId: string, memberId: string, provider: string, providerUserId: string) {
  return db
    .insertInto('member_social_link')
    .values({ tenant_id: tenantId, member_id: memberId, provider, provider_user_id: providerUserId, last_login_at: null })
    .execute();
}

export function linksOf(db: Db, tenantId: string, memberId: string) {
  return db
    .selectFrom('member_social_link')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .orderBy('provider')
    .execute();
}

export async function touchLink(db: Db, tenantId: string, provider: string, providerUserId: string) {
  await db
    .updateTable('member_social_link')
    .set({ last_login_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('provider', '=', provider)
    .where('provider_user_id', '=', providerUserId)
    .execute();
}

/** Removes one provider's link of a member, or all of them; returns how many. */
export async function deleteLinks(db: Db, tenantId: string, memberId: string, provider?: string): Promise<number> {
  const result = await db
    .deleteFrom('member_social_link')
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .$if(provider !== undefined, (q) => q.where('provider', '=', provider!))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The sandbox provider's check of an authorize request: a live state with this redirect URI. */
export function findOpenState(db: Db, state: string, provider: string, redirectUri: string, now: Date) {
  return db
    .selectFrom('member_social_state')
    .selectAll()
    .where('state', '=', state)
    .where('provider', '=', provider)
    .where('redirect_uri', '=', redirectUri)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}
