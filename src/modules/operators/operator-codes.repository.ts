import type { Insertable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type { OperatorCodePurpose, OperatorCodeTable, OperatorEmailRecoveryTable, OperatorRow } from './operators.tables.ts';

// SQL of operators' SMS/AlimTalk codes, phones and emergency e-mail recovery. Each decision a race
// could break is one conditional statement: the resend interval, a code's attempts and its single
// use, a recovery link's single use.

const ofTenant = (tenantId: string | null) =>
  tenantId === null ? sql<boolean>`tenant_id is null` : sql<boolean>`tenant_id = ${tenantId}`;

/**
 * Puts a new code in place of the operator's last one for the purpose, unless that one was sent
 * after `resendBefore` (false: too soon).
 */
export async function putCode(db: Db, row: Insertable<OperatorCodeTable>, resendBefore: Date): Promise<boolean> {
  const { rows } = await sql<{ sent_at: Date }>`
    insert into operator_code as c (operator_id, purpose, tenant_id, channel, phone_sealed, code_hash, attempts, sent_at, expires_at, used_at)
    values (${row.operator_id}, ${row.purpose}, ${row.tenant_id}, ${row.channel}, ${row.phone_sealed}, ${row.code_hash}, 0,
      ${row.sent_at}, ${row.expires_at}, null)
    on conflict (operator_id, purpose) do update set
      tenant_id = excluded.tenant_id, channel = excluded.channel, phone_sealed = excluded.phone_sealed,
      code_hash = excluded.code_hash, attempts = 0, sent_at = excluded.sent_at, expires_at = excluded.expires_at, used_at = null
    where c.sent_at <= ${resendBefore}
    returning sent_at`.execute(db);
  return rows.length > 0;
}

export const findCode = (db: Db, operatorId: string, purpose: OperatorCodePurpose) =>
  db
    .selectFrom('operator_code')
    .selectAll()
    .where('operator_id', '=', operatorId)
    .where('purpose', '=', purpose)
    .executeTakeFirst();

/**
 * One attempt at the live code: counts it and, when the hash matches, uses the code up. undefined:
 * no live code (none, expired, used, or its attempts are spent); ok false: a wrong code.
 */
export async function tryCode(
  db: Db,
  operatorId: string,
  purpose: OperatorCodePurpose,
  codeHash: string,
  now: Date,
  maxAttempts: number,
): Promise<{ ok: boolean; phone_sealed: string } | undefined> {
  const { rows } = await sql<{ ok: boolean; phone_sealed: string }>`
    update operator_code set attempts = attempts + 1, used_at = case when code_hash = ${codeHash} then ${now}::timestamptz end
    where operator_id = ${operatorId} and purpose = ${purpose} and used_at is null and expires_at > ${now} and attempts < ${maxAttempts}
    returning used_at is not null as ok, phone_sealed`.execute(db);
  return rows[0];
}

export const deleteCodes = (db: Db, operatorId: string) =>
  db.deleteFrom('operator_code').where('operator_id', '=', operatorId).execute();

export const setPhone = (db: Db, tenantId: string | null, operatorId: string, phoneSealed: string | null, now: Date) =>
  db
    .updateTable('operator')
    .set({ phone_sealed: phoneSealed, updated_at: now })
    .where(ofTenant(tenantId))
    .where('id', '=', operatorId)
    .returningAll()
    .executeTakeFirst();

/** Any open recovery link of the operator stops working (a new one was asked for). */
export const revokeOpenRecoveries = (db: Db, operatorId: string, now: Date) =>
  db
    .updateTable('operator_email_recovery')
    .set({ revoked_at: now })
    .where('operator_id', '=', operatorId)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .execute();

export const insertRecovery = (db: Db, row: OperatorEmailRecoveryTable) =>
  db.insertInto('operator_email_recovery').values(row).execute();

/** Uses a recovery link once: undefined when it is unknown, used, revoked or expired. */
export const consumeRecovery = (db: Db, tokenHash: Buffer, now: Date) =>
  db
    .updateTable('operator_email_recovery')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();

/** Every second factor of the operator is void: the authenticator, recovery codes, the phone and its codes. */
export async function voidFactors(db: Db, tenantId: string | null, operatorId: string, now: Date): Promise<void> {
  await db.deleteFrom('operator_totp').where('operator_id', '=', operatorId).execute();
  await db.deleteFrom('operator_recovery_code').where('operator_id', '=', operatorId).execute();
  await db.deleteFrom('operator_code').where('operator_id', '=', operatorId).execute();
  await setPhone(db, tenantId, operatorId, null, now);
}

/** The active operators who administer the tenant (owners and admins), or the platform's, but one. */
export const administrators = (db: Db, tenantId: string | null, except: string): Promise<OperatorRow[]> =>
  db
    .selectFrom('operator')
    .selectAll()
    .where(ofTenant(tenantId))
    .$if(tenantId !== null, (q) => q.where('role', 'in', ['owner', 'admin']))
    .where('status', '=', 'active')
    .where('id', '!=', except)
    .orderBy('created_at')
    .execute();
