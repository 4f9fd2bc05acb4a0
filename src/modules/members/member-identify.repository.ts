import type { Db } from '../../platform/db.ts';

// SQL only, for the counter: the member app's barcode and the lookups a POS identifies a member by.

/** The member's new code replaces the previous one (used or not): one row per member. */
export async function replaceBarcode(
  db: Db,
  tenantId: string,
  memberId: string,
  code: { hash: string; issuedAt: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('member_barcode')
    .values({
      tenant_id: tenantId,
      member_id: memberId,
      code_hash: code.hash,
      issued_at: code.issuedAt,
      expires_at: code.expiresAt,
      used_at: null,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'member_id'])
        .doUpdateSet({ code_hash: code.hash, issued_at: code.issuedAt, expires_at: code.expiresAt, used_at: null }),
    )
    .execute();
}

/**
 * Uses a live code: one conditional update, so of any number of parallel scans exactly one gets
 * the member; the others find it used.
 */
export async function useBarcode(db: Db, tenantId: string, codeHash: string, now: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('member_barcode')
    .set({ used_at: now })
    .where('tenant_id', '=', tenantId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('member_id')
    .executeTakeFirst();
  return row?.member_id;
}

/** Why a code could not be used: it is unknown (or replaced), used, or expired. */
export function findBarcode(db: Db, tenantId: string, codeHash: string) {
  return db
    .selectFrom('member_barcode')
    .select(['used_at', 'expires_at'])
    .where('tenant_id', '=', tenantId)
    .where('code_hash', '=', codeHash)
    .executeTakeFirst();
}

/** Active members with this phone (keyed hash; the member_by_phone index): at most two, enough to tell one from several. */
export function activeByPhoneHash(db: Db, tenantId: string, phoneHash: string) {
  return db
    .selectFrom('member')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('phone_hash', '=', phoneHash)
    .where('status', '=', 'active')
    .limit(2)
    .execute();
}
