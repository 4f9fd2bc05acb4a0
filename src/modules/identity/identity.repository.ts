import { type Insertable, sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type { IdentityVerificationRow, IdentityVerificationTable, VerificationStatus } from './identity.tables.ts';

// SQL only; every query of tenant data names its tenant.

export async function insertVerification(db: Db, row: Insertable<IdentityVerificationTable>): Promise<IdentityVerificationRow> {
  return db.insertInto('identity_verification').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findVerification(db: Db, tenantId: string, id: string, options: { forUpdate?: boolean } = {}) {
  let q = db.selectFrom('identity_verification').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** The sandbox page's lookup: the request number is the only thing the browser carries. */
export function findByRequestNo(db: Db, requestNo: string) {
  return db.selectFrom('identity_verification').selectAll().where('request_no', '=', requestNo).executeTakeFirst();
}

export async function settleVerification(
  db: Db,
  tenantId: string,
  id: string,
  outcome: {
    status: Exclude<VerificationStatus, 'pending'>;
    reason: string | null;
    identitySealed: string | null;
    ciHash: string | null;
  },
): Promise<IdentityVerificationRow> {
  return db
    .updateTable('identity_verification')
    .set({
      status: outcome.status,
      reason: outcome.reason,
      identity_sealed: outcome.identitySealed,
      ci_hash: outcome.ciHash,
      completed_at: sql<Date>`now()`,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Pending verifications past their deadline, oldest first (the expiry job). */
export function duePending(db: Db, cutoff: Date, limit: number) {
  return db
    .selectFrom('identity_verification')
    .select(['tenant_id', 'id'])
    .where('status', '=', 'pending')
    .where('expires_at', '<=', cutoff)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
}

export async function verifiedCounts(db: Db, tenantId: string): Promise<{ live: number; preview: number }> {
  const row = await db
    .selectFrom('identity_verification')
    .select((eb) => [
      eb.fn.countAll<number>().filterWhere('mode', '=', 'live').as('live'),
      eb.fn.countAll<number>().filterWhere('mode', '=', 'preview').as('preview'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'verified')
    .executeTakeFirstOrThrow();
  return { live: Number(row.live), preview: Number(row.preview) };
}

export async function recordSandboxResult(
  db: Db,
  requestNo: string,
  outcome: string,
  identitySealed: string | null,
): Promise<boolean> {
  const inserted = await db
    .insertInto('identity_sandbox_result')
    .values({ request_no: requestNo, outcome, identity_sealed: identitySealed })
    .onConflict((oc) => oc.column('request_no').doNothing())
    .returning('request_no')
    .executeTakeFirst();
  return inserted !== undefined;
}

export function findSandboxResult(db: Db, requestNo: string) {
  return db.selectFrom('identity_sandbox_result').selectAll().where('request_no', '=', requestNo).executeTakeFirst();
}

/** Marks a verified verification used, once; false when it was already used. */
export async function markUsed(db: Db, tenantId: string, id: string, usedFor: string): Promise<boolean> {
  const row = await db
    .updateTable('identity_verification')
    .set({ used_at: sql<Date>`now()`, used_for: usedFor })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', 'verified')
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
