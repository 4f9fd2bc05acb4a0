import type { Insertable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type {
  OperatorAccessChangeTable,
  OperatorInvitationRow,
  OperatorInvitationTable,
  OperatorRow,
  OperatorSessionRow,
  OperatorSessionTable,
  OperatorTable,
} from './operators.tables.ts';

// SQL of the operators module. tenantId null is the platform's own operators; a tenant's queries
// always name the tenant (row-level security holds them too).

const ofTenant = (tenantId: string | null) =>
  tenantId === null ? sql<boolean>`tenant_id is null` : sql<boolean>`tenant_id = ${tenantId}`;

export const findOperatorByEmailHash = (db: Db, emailHash: string) =>
  db.selectFrom('operator').selectAll().where('email_hash', '=', emailHash).executeTakeFirst();

export const findOperator = (db: Db, tenantId: string | null, id: string) =>
  db.selectFrom('operator').selectAll().where(ofTenant(tenantId)).where('id', '=', id).executeTakeFirst();

export const listOperators = (db: Db, tenantId: string | null) =>
  db
    .selectFrom('operator')
    .selectAll()
    .where(ofTenant(tenantId))
    .where('status', '!=', 'removed')
    .orderBy('created_at')
    .execute();

export const insertOperator = (db: Db, row: Insertable<OperatorTable>) =>
  db.insertInto('operator').values(row).returningAll().executeTakeFirstOrThrow();

export async function updateOperator(
  db: Db,
  tenantId: string | null,
  id: string,
  set: Partial<Pick<OperatorRow, 'role' | 'store_ids' | 'status' | 'password_hash' | 'sessions_valid_after'>>,
  now: Date,
): Promise<OperatorRow | undefined> {
  return db
    .updateTable('operator')
    .set({ ...set, updated_at: now })
    .where(ofTenant(tenantId))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Active owners of a tenant other than `except`, their rows locked in id order: two demotions at
 * once cannot leave the tenant without an owner.
 */
export async function otherActiveOwners(db: Db, tenantId: string, except: string): Promise<number> {
  const rows = await db
    .selectFrom('operator')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'owner')
    .where('status', '=', 'active')
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.filter((r) => r.id !== except).length;
}

export const insertInvitation = (db: Db, row: Insertable<OperatorInvitationTable>) =>
  db
    .insertInto('operator_invitation')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();

export const findInvitationByToken = (db: Db, tokenHash: Buffer): Promise<OperatorInvitationRow | undefined> =>
  db.selectFrom('operator_invitation').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();

export const listOpenInvitations = (db: Db, tenantId: string | null, now: Date) =>
  db
    .selectFrom('operator_invitation')
    .selectAll()
    .where(ofTenant(tenantId))
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute();

/** Marks an open invitation accepted or revoked; undefined when it was not open (a race lost). */
export const closeInvitation = (db: Db, id: string, column: 'accepted_at' | 'revoked_at', now: Date, tenantId?: string | null) =>
  db
    .updateTable('operator_invitation')
    .set({ [column]: now })
    .where('id', '=', id)
    .where(tenantId === undefined ? sql<boolean>`true` : ofTenant(tenantId))
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();

/** An expired open invitation no longer holds its e-mail's one open slot. */
export const revokeExpiredInvitation = (db: Db, emailHash: string, now: Date) =>
  db
    .updateTable('operator_invitation')
    .set({ revoked_at: now })
    .where('email_hash', '=', emailHash)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '<=', now)
    .execute();

export const insertSession = (db: Db, row: OperatorSessionTable) => db.insertInto('operator_session').values(row).execute();

export type SessionWithOperator = OperatorSessionRow & {
  operator: OperatorRow;
  idle_minutes: number;
  tenant_status: string | null;
  tenant_name: string | null;
  /** A custom role's permissions (null for a built-in role). */
  role_permissions: string[] | null;
};

/** The session of a cookie with its operator and tenant: one round trip per request. */
export async function findSession(db: Db, idHash: Buffer): Promise<SessionWithOperator | undefined> {
  const { rows } = await sql<SessionWithOperator>`
    select s.*, to_jsonb(o) as operator, coalesce(t.operator_idle_minutes, 30) as idle_minutes,
      t.status as tenant_status, t.name as tenant_name, r.permissions as role_permissions
    from operator_session s
    join operator o on o.id = s.operator_id
    left join tenant t on t.id = s.tenant_id
    left join operator_role r on r.tenant_id = s.tenant_id and r.id = o.role
    where s.id_hash = ${idHash}`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const o = row.operator as unknown as Record<string, unknown>;
  // to_jsonb turns timestamps into strings.
  for (const k of ['sessions_valid_after', 'created_at', 'updated_at'] as const) o[k] = new Date(o[k] as string);
  return row;
}

export const touchSession = (db: Db, idHash: Buffer, now: Date) =>
  db.updateTable('operator_session').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();

export const deleteSession = (db: Db, idHash: Buffer) =>
  db.deleteFrom('operator_session').where('id_hash', '=', idHash).returningAll().executeTakeFirst();

export const revokeSessions = (db: Db, operatorId: string, now: Date) =>
  db
    .updateTable('operator_session')
    .set({ revoked_at: now })
    .where('operator_id', '=', operatorId)
    .where('revoked_at', 'is', null)
    .execute();

export const findTotp = (db: Db, operatorId: string) =>
  db.selectFrom('operator_totp').selectAll().where('operator_id', '=', operatorId).executeTakeFirst();

export async function putTotpSecret(db: Db, tenantId: string | null, operatorId: string, secretSealed: string): Promise<void> {
  await db
    .insertInto('operator_totp')
    .values({ operator_id: operatorId, tenant_id: tenantId, secret_sealed: secretSealed, confirmed_at: null })
    .onConflict((oc) => oc.column('operator_id').doUpdateSet({ secret_sealed: secretSealed, confirmed_at: null, last_step: 0 }))
    .execute();
}

/**
 * Takes a TOTP step: one conditional statement, so a code (its step or an earlier one) is accepted
 * once even by parallel requests. `confirm` accepts the unconfirmed secret of an enrolment.
 */
export async function takeTotpStep(db: Db, operatorId: string, step: number, now: Date, confirm: boolean): Promise<boolean> {
  const row = await db
    .updateTable('operator_totp')
    .set({ last_step: step, ...(confirm ? { confirmed_at: now } : {}) })
    .where('operator_id', '=', operatorId)
    .where('last_step', '<', step)
    .where('confirmed_at', confirm ? 'is' : 'is not', null)
    .returning('operator_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function replaceRecoveryCodes(db: Db, tenantId: string | null, operatorId: string, hashes: string[]): Promise<void> {
  await db.deleteFrom('operator_recovery_code').where('operator_id', '=', operatorId).execute();
  await db
    .insertInto('operator_recovery_code')
    .values(hashes.map((code_hash) => ({ operator_id: operatorId, tenant_id: tenantId, code_hash })))
    .execute();
}

export async function useRecoveryCode(db: Db, operatorId: string, hash: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('operator_recovery_code')
    .set({ used_at: now })
    .where('operator_id', '=', operatorId)
    .where('code_hash', '=', hash)
    .where('used_at', 'is', null)
    .returning('code_hash')
    .executeTakeFirst();
  return row !== undefined;
}

export async function unusedRecoveryCodes(db: Db, operatorId: string): Promise<number> {
  const row = await db
    .selectFrom('operator_recovery_code')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('operator_id', '=', operatorId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export const insertAccessChange = (db: Db, row: Insertable<OperatorAccessChangeTable>) =>
  db.insertInto('operator_access_change').values(row).execute();

export const listAccessChanges = (db: Db, tenantId: string | null, before: string | undefined, limit: number) =>
  db
    .selectFrom('operator_access_change')
    .selectAll()
    .where(ofTenant(tenantId))
    .$if(before !== undefined, (q) => q.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();

export const listCustomRoles = (db: Db, tenantId: string) =>
  db.selectFrom('operator_role').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();

export const findCustomRole = (db: Db, tenantId: string, id: string) =>
  db.selectFrom('operator_role').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();

export const insertCustomRole = (db: Db, row: { tenant_id: string; id: string; name: string; permissions: string[] }) =>
  db
    .insertInto('operator_role')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();

export const updateCustomRole = (
  db: Db,
  tenantId: string,
  id: string,
  set: { name?: string; permissions?: string[] },
  now: Date,
) =>
  db
    .updateTable('operator_role')
    .set({ ...set, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();

export const deleteCustomRole = (db: Db, tenantId: string, id: string) =>
  db.deleteFrom('operator_role').where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirst();

export async function operatorsWithRole(db: Db, tenantId: string, role: string): Promise<number> {
  const row = await db
    .selectFrom('operator')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('role', '=', role)
    .where('status', '!=', 'removed')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Records that an operator used a permission (at most once an hour per pair: the statement decides). */
export async function notePermissionUse(db: Db, tenantId: string | null, operatorId: string, permission: string, now: Date) {
  await sql`
    insert into operator_permission_use as u (operator_id, tenant_id, permission, last_used_at)
    values (${operatorId}, ${tenantId}, ${permission}, ${now})
    on conflict (operator_id, permission) do update set last_used_at = excluded.last_used_at
    where u.last_used_at < ${new Date(now.getTime() - 3_600_000)}`.execute(db);
}

export const permissionUses = (db: Db, tenantId: string) =>
  db.selectFrom('operator_permission_use').selectAll().where('tenant_id', '=', tenantId).execute();

/** Sets the idle timeout and returns the previous one. */
export async function setIdleMinutes(db: Db, tenantId: string, minutes: number): Promise<number> {
  const { rows } = await sql<{ before: number }>`
    update tenant t set operator_idle_minutes = ${minutes} from (select operator_idle_minutes as before from tenant where id = ${tenantId}) b
    where t.id = ${tenantId} returning b.before`.execute(db);
  return rows[0]?.before ?? minutes;
}
