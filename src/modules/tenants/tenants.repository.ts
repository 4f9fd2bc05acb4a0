import { type Insertable, sql, type Updateable } from 'kysely';
import type { Db } from '../../platform/db.ts';
import { txForget } from '../../platform/tx-memo.ts';
import type { ApiKeyRow, ApiKeyTable, TenantRow, TenantTable } from './tenants.tables.ts';

// SQL only. The tenant table is the root of tenancy (its id is the tenant_id of everything else);
// every other query takes tenantId and filters by it.

export async function insertTenant(db: Db, row: Insertable<TenantTable>): Promise<TenantRow> {
  return db.insertInto('tenant').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findTenant(db: Db, tenantId: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenant').selectAll().where('id', '=', tenantId).executeTakeFirst();
}

export async function findTenantByBrn(db: Db, brn: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenant').selectAll().where('business_registration_number', '=', brn).executeTakeFirst();
}

/** Newest first; `before` is the last id of the previous page (ids are time-ordered). */
export async function listTenants(db: Db, limit: number, before?: string): Promise<TenantRow[]> {
  return db
    .selectFrom('tenant')
    .selectAll()
    .$if(before !== undefined, (qb) => qb.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** The key under which a transaction keeps the tenant (getTenant). */
export const tenantMemoKey = (tenantId: string) => `tenant:${tenantId}`;

export async function updateTenant(db: Db, tenantId: string, changes: Updateable<TenantTable>): Promise<TenantRow | undefined> {
  txForget(db, tenantMemoKey(tenantId));
  return db
    .updateTable('tenant')
    .set({ ...changes, updated_at: sql<Date>`now()` })
    .where('id', '=', tenantId)
    .returningAll()
    .executeTakeFirst();
}

export async function insertApiKey(db: Db, row: Insertable<ApiKeyTable>): Promise<ApiKeyRow> {
  return db.insertInto('api_key').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyRow[]> {
  return db.selectFrom('api_key').selectAll().where('tenant_id', '=', tenantId).orderBy('id', 'desc').execute();
}

/** The key with its tenant's status, for authentication. */
export async function findApiKeyForAuth(db: Db, tenantId: string, keyId: string) {
  return db
    .selectFrom('api_key')
    .innerJoin('tenant', 'tenant.id', 'api_key.tenant_id')
    .select(['api_key.secret_hash', 'api_key.scope', 'api_key.revoked_at', 'api_key.store_id', 'tenant.status as tenant_status'])
    .where('api_key.tenant_id', '=', tenantId)
    .where('api_key.id', '=', keyId)
    .executeTakeFirst();
}

export async function revokeApiKey(db: Db, tenantId: string, keyId: string): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_key')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', keyId)
    .returningAll()
    .executeTakeFirst();
}

/** Records use at most once a minute per key, so authentication stays a read. */
export async function touchApiKey(db: Db, tenantId: string, keyId: string): Promise<void> {
  await db
    .updateTable('api_key')
    .set({ last_used_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();
}
