import type { Db } from '../../platform/db.ts';

// SQL only; every function takes the tenant. (Most of this module's SQL is still in prepaid.service.ts.)

/** A physical card by its number's keyed hash (the prepaid_card_number unique index): its holder and status. */
export function physicalCardByNumberHash(db: Db, tenantId: string, numberHash: string) {
  return db
    .selectFrom('prepaid_card')
    .select(['id', 'member_id', 'status'])
    .where('tenant_id', '=', tenantId)
    .where('number_hash', '=', numberHash)
    .executeTakeFirst();
}
