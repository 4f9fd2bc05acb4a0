import { type Insertable, sql, type Updateable } from 'kysely';
import type { Db } from '../../platform/db.ts';
import { txForget } from '../../platform/tx-memo.ts';
import type {
  MemberConsentTable,
  MemberEmailChangeTable,
  MemberPolicyTable,
  MemberRow,
  MemberSessionTable,
  MemberTable,
} from './members.tables.ts';

// SQL only; every function takes the tenant.

export async function policy(db: Db, tenantId: string) {
  await db
    .insertInto('member_policy')
    .values({ tenant_id: tenantId })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  return db.selectFrom('member_policy').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
}

export function updatePolicy(db: Db, tenantId: string, set: Updateable<MemberPolicyTable>) {
  return db
    .updateTable('member_policy')
    .set({ ...set, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function insertMember(db: Db, row: Insertable<MemberTable>) {
  return db.insertInto('member').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findMember(db: Db, tenantId: string, id: string, options: { forUpdate?: boolean } = {}) {
  let q = db.selectFrom('member').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** A page of members, newest first (ids are time-ordered), by status, grade, join period and consent. */
export function listMembers(
  db: Db,
  tenantId: string,
  q: {
    status?: MemberRow['status'] | undefined;
    grade?: string | undefined;
    joinedFrom?: Date | undefined;
    joinedTo?: Date | undefined;
    consent?: 'sms' | 'email' | 'push' | 'messenger' | 'night' | undefined;
    before?: string | undefined;
    limit: number;
  },
) {
  const consent = q.consent;
  return db
    .selectFrom('member')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(q.status !== undefined, (b) => b.where('status', '=', q.status!))
    .$if(q.grade !== undefined, (b) => b.where('grade', '=', q.grade!))
    .$if(q.joinedFrom !== undefined, (b) => b.where('joined_at', '>=', q.joinedFrom!))
    .$if(q.joinedTo !== undefined, (b) => b.where('joined_at', '<', q.joinedTo!))
    .$if(consent === 'night', (b) => b.where(sql<boolean>`consents ->> 'night' is not null`))
    .$if(consent !== undefined && consent !== 'night', (b) =>
      b.where(sql<boolean>`consents -> 'marketing' ->> ${sql.lit(consent!)} is not null`),
    )
    .$if(q.before !== undefined, (b) => b.where('id', '<', q.before!))
    .orderBy('id', 'desc')
    .limit(q.limit)
    .execute();
}

export function findByLoginId(db: Db, tenantId: string, loginId: string) {
  return db.selectFrom('member').selectAll().where('tenant_id', '=', tenantId).where('login_id', '=', loginId).executeTakeFirst();
}

/** The person's account that can log in or come back (at most one, by the unique index). */
export function findByCiHash(db: Db, tenantId: string, ciHash: string, options: { forUpdate?: boolean } = {}) {
  let q = db
    .selectFrom('member')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('ci_hash', '=', ciHash)
    .where('status', 'in', ['active', 'dormant']);
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** An account opened without verification (signed up unverified or imported), by name + phone. */
export function findUnverifiedByNamePhone(
  db: Db,
  tenantId: string,
  namePhoneHash: string,
  options: { forUpdate?: boolean } = {},
) {
  let q = db
    .selectFrom('member')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('name_phone_hash', '=', namePhoneHash)
    .where('ci_hash', 'is', null)
    .where('status', 'in', ['active', 'dormant']);
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** The key under which a transaction keeps a member's status and grade (memberGrade). */
export const memberMemoKey = (tenantId: string, id: string) => `member:${tenantId}:${id}`;

export function updateMember(db: Db, tenantId: string, id: string, set: Updateable<MemberTable>): Promise<MemberRow> {
  txForget(db, memberMemoKey(tenantId, id));
  return db
    .updateTable('member')
    .set(set)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Counts a wrong password atomically; returns the new count. */
export async function countFailedLogin(db: Db, tenantId: string, id: string): Promise<number> {
  const row = await db
    .updateTable('member')
    .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returning('failed_logins')
    .executeTakeFirstOrThrow();
  return row.failed_logins;
}

export function activeRejoinBlock(db: Db, tenantId: string, ciHash: string, now: Date) {
  return db
    .selectFrom('member_rejoin_block')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('ci_hash', '=', ciHash)
    .where('blocked_until', '>', now)
    .executeTakeFirst();
}

export function insertSession(db: Db, row: Insertable<MemberSessionTable>) {
  return db.insertInto('member_session').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findSessionByToken(db: Db, tokenHash: Buffer) {
  return db.selectFrom('member_session').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export function touchSession(db: Db, tenantId: string, id: string) {
  return db
    .updateTable('member_session')
    .set({ last_seen_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export function listSessions(db: Db, tenantId: string, memberId: string, now: Date) {
  return db
    .selectFrom('member_session')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Revokes one session (or, without an id, all of the member's); returns how many. */
export async function revokeSessions(db: Db, tenantId: string, memberId: string, sessionId?: string): Promise<number> {
  let q = db
    .updateTable('member_session')
    .set({ revoked_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null);
  if (sessionId) q = q.where('id', '=', sessionId);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Revokes every open session of the member but one (a password change keeps the session it came from). */
export async function revokeOtherSessions(db: Db, tenantId: string, memberId: string, keep: string): Promise<number> {
  const result = await db
    .updateTable('member_session')
    .set({ revoked_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null)
    .where('id', '<>', keep)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

// E-mail changes: a single-use link per request; a newer one replaces the open ones.

export async function replaceEmailChange(db: Db, row: Insertable<MemberEmailChangeTable>): Promise<void> {
  await db
    .updateTable('member_email_change')
    .set({ revoked_at: row.created_at })
    .where('tenant_id', '=', row.tenant_id)
    .where('member_id', '=', row.member_id)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .execute();
  await db.insertInto('member_email_change').values(row).execute();
}

/** Uses up an open, unexpired link of the member in one statement; undefined when there is none. */
export const consumeEmailChange = (db: Db, tenantId: string, memberId: string, tokenHash: string, now: Date) =>
  db
    .updateTable('member_email_change')
    .set({ used_at: now })
    .where('tenant_id', '=', tenantId)
    .where('token_hash', '=', tokenHash)
    .where('member_id', '=', memberId)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();

/** Removes the member's e-mail change requests, used or not (each holds a sealed address). */
export async function deleteEmailChanges(db: Db, tenantId: string, memberId: string): Promise<void> {
  await db.deleteFrom('member_email_change').where('tenant_id', '=', tenantId).where('member_id', '=', memberId).execute();
}

// Consents: the history is appended, never changed.

export type ConsentChange = Omit<Insertable<MemberConsentTable>, 'tenant_id' | 'member_id' | 'seq'>;

export async function appendConsents(db: Db, tenantId: string, memberId: string, rows: ConsentChange[]): Promise<void> {
  if (!rows.length) return;
  await db
    .insertInto('member_consent')
    .values(rows.map((r) => ({ ...r, tenant_id: tenantId, member_id: memberId })))
    .execute();
}

/** Many members' consent rows at once (an import chunk), a few thousand rows per statement. */
export async function appendConsentsOfMany(
  db: Db,
  tenantId: string,
  rows: (ConsentChange & { member_id: string })[],
  chunk = 5_000,
): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    await db
      .insertInto('member_consent')
      .values(rows.slice(i, i + chunk).map((r) => ({ ...r, tenant_id: tenantId })))
      .execute();
  }
}

/** The member's latest consent changes (up to `limit`), oldest first, in the order they were written. */
export async function consentHistory(db: Db, tenantId: string, memberId: string, limit = 1_000) {
  const rows = await db
    .selectFrom('member_consent')
    .select(['consent', 'granted', 'at', 'channel', 'operator_id', 'reason'])
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse();
}

// The lifecycle jobs' lookups. Each uses a partial index with the smallest bound any policy allows,
// then applies the tenant's own policy.

export function dueForDormancyNotice(db: Db, now: Date, limit: number, tenantId?: string) {
  return db
    .selectFrom('member as m')
    .leftJoin('member_policy as p', 'p.tenant_id', 'm.tenant_id')
    .select(['m.tenant_id', 'm.id', 'm.last_active_at', sql<number>`coalesce(p.dormancy_days, 365)`.as('dormancy_days')])
    .where('m.status', '=', 'active')
    .where('m.dormancy_noticed_at', 'is', null)
    .where('m.last_active_at', '<', new Date(now.getTime() - 60 * 86_400_000))
    .where(sql<boolean>`m.last_active_at < ${now}::timestamptz - make_interval(days => coalesce(p.dormancy_days, 365) - 30)`)
    .$if(tenantId !== undefined, (q) => q.where('m.tenant_id', '=', tenantId!))
    .orderBy('m.last_active_at')
    .limit(limit)
    .execute();
}

export function dueForDormancy(db: Db, now: Date, limit: number, tenantId?: string) {
  return db
    .selectFrom('member as m')
    .leftJoin('member_policy as p', 'p.tenant_id', 'm.tenant_id')
    .select(['m.tenant_id', 'm.id'])
    .where('m.status', '=', 'active')
    .where('m.last_active_at', '<', new Date(now.getTime() - 90 * 86_400_000))
    .where(sql<boolean>`m.last_active_at < ${now}::timestamptz - make_interval(days => coalesce(p.dormancy_days, 365))`)
    .$if(tenantId !== undefined, (q) => q.where('m.tenant_id', '=', tenantId!))
    .orderBy('m.last_active_at')
    .limit(limit)
    .execute();
}

export function dueForPurge(db: Db, now: Date, limit: number, tenantId?: string) {
  return db
    .selectFrom('member as m')
    .leftJoin('member_policy as p', 'p.tenant_id', 'm.tenant_id')
    .select(['m.tenant_id', 'm.id'])
    .where('m.status', '=', 'withdrawn')
    .where('m.purged_at', 'is', null)
    .where('m.withdrawn_at', '<=', now)
    .where(sql<boolean>`m.withdrawn_at <= ${now}::timestamptz - make_interval(days => coalesce(p.purge_after_days, 30))`)
    .$if(tenantId !== undefined, (q) => q.where('m.tenant_id', '=', tenantId!))
    .orderBy('m.withdrawn_at')
    .limit(limit)
    .execute();
}

export async function upsertRejoinBlock(db: Db, tenantId: string, ciHash: string, withdrawnAt: Date, blockedUntil: Date) {
  await db
    .insertInto('member_rejoin_block')
    .values({ tenant_id: tenantId, ci_hash: ciHash, withdrawn_at: withdrawnAt, blocked_until: blockedUntil })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'ci_hash']).doUpdateSet({ withdrawn_at: withdrawnAt, blocked_until: blockedUntil }),
    )
    .execute();
}

export async function putDormant(db: Db, tenantId: string, memberId: string, sealed: string) {
  await db.insertInto('member_dormant').values({ tenant_id: tenantId, member_id: memberId, profile_sealed: sealed }).execute();
}

export async function takeDormant(db: Db, tenantId: string, memberId: string): Promise<string | undefined> {
  const row = await db
    .deleteFrom('member_dormant')
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .returning('profile_sealed')
    .executeTakeFirst();
  return row?.profile_sealed;
}

export async function deleteSessions(db: Db, tenantId: string, memberId: string) {
  await db.deleteFrom('member_session').where('tenant_id', '=', tenantId).where('member_id', '=', memberId).execute();
}

/** Marks the dormancy notice sent, once (false when another process did it first). */
export async function markDormancyNoticed(db: Db, tenantId: string, id: string, at: Date): Promise<boolean> {
  const row = await db
    .updateTable('member')
    .set({ dormancy_noticed_at: at })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', 'active')
    .where('dormancy_noticed_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Active members' ids in id order, a page after a cursor (the grade review walks them). */
export function activeMemberIds(db: Db, tenantId: string, after: string, limit: number) {
  return db
    .selectFrom('member')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '>', after)
    .where('status', '=', 'active')
    .orderBy('id')
    .limit(limit)
    .execute();
}
