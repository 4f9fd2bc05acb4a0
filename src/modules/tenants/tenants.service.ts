import { withTransaction } from '../../platform/db.ts';
import { withTenant } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId, randomToken } from '../../platform/ids.ts';
import type { AuthContext } from '../../platform/request-context.ts';
import { txMemo } from '../../platform/tx-memo.ts';
import { requireStore } from '../stores/index.ts';
import * as repo from './tenants.repository.ts';
import { apiKeyPrefix, formatApiKey, formatBrn, hashSecret, normalizeBrn, parseApiKey, secretMatches } from './tenants.rules.ts';
import type {
  TApiKey,
  TCreateApiKeyRequest,
  TCreatedApiKey,
  TCreateTenantRequest,
  TTenant,
  TUpdateTenantRequest,
} from './tenants.schemas.ts';
import type { ApiKeyRow, TenantRow, TenantStatus } from './tenants.tables.ts';

type D = Pick<Deps, 'db' | 'config'>;

export function toTenantDto(row: TenantRow): TTenant {
  return {
    id: row.id,
    name: row.name,
    businessRegistrationNumber: formatBrn(row.business_registration_number),
    timeZone: row.time_zone,
    locale: row.locale,
    currency: row.currency,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toApiKeyDto(row: ApiKeyRow): TApiKey {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    storeId: row.store_id,
  };
}

const notFound = (tenantId: string) => new AppError('NOT_FOUND', `Tenant ${tenantId} does not exist.`, { tenantId });

export async function createTenant(deps: D, input: TCreateTenantRequest): Promise<TTenant> {
  return withTransaction(deps.db, async (trx) => {
    // Checked first for a clear answer; the unique index still decides a race.
    const existing = await repo.findTenantByBrn(trx, input.businessRegistrationNumber);
    if (existing) {
      throw new AppError('CONFLICT', 'A tenant with this business registration number already exists.', {
        field: 'businessRegistrationNumber',
      });
    }
    const row = await repo.insertTenant(trx, {
      id: newId('tnt'),
      name: input.name,
      business_registration_number: input.businessRegistrationNumber,
      time_zone: input.timeZone ?? deps.config.defaultTimeZone,
      locale: input.locale,
    });
    await enqueueEvent(trx, row.id, { topic: 'tenant.created', payload: { tenantId: row.id, name: row.name } });
    return toTenantDto(row);
  });
}

export async function getTenant(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TTenant> {
  // Several modules of one transaction want the time zone: read once per transaction.
  return txMemo(deps.db, repo.tenantMemoKey(tenantId), async () => {
    const row = await repo.findTenant(deps.db, tenantId);
    if (!row) throw notFound(tenantId);
    return toTenantDto(row);
  });
}

export async function findTenantByBrn(deps: Pick<Deps, 'db'>, brn: string): Promise<TTenant | undefined> {
  const row = await repo.findTenantByBrn(deps.db, normalizeBrn(brn));
  return row && toTenantDto(row);
}

export async function listTenants(
  deps: Pick<Deps, 'db'>,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: TTenant[]; nextCursor: string | null }> {
  const rows = await repo.listTenants(deps.db, page.limit + 1, page.cursor);
  const items = rows.slice(0, page.limit).map(toTenantDto);
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)!.id : null };
}

export async function updateTenant(deps: Pick<Deps, 'db'>, tenantId: string, input: TUpdateTenantRequest): Promise<TTenant> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.updateTenant(trx, tenantId, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.timeZone !== undefined ? { time_zone: input.timeZone } : {}),
      ...(input.locale !== undefined ? { locale: input.locale } : {}),
    });
    if (!row) throw notFound(tenantId);
    await enqueueEvent(trx, tenantId, { topic: 'tenant.updated', payload: { tenantId, changes: input } });
    return toTenantDto(row);
  });
}

export async function setTenantStatus(deps: Pick<Deps, 'db'>, tenantId: string, status: TenantStatus): Promise<TTenant> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.updateTenant(trx, tenantId, { status });
    if (!row) throw notFound(tenantId);
    await enqueueEvent(trx, tenantId, { topic: 'tenant.status_changed', payload: { tenantId, status } });
    return toTenantDto(row);
  });
}

export async function createApiKey(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  input: TCreateApiKeyRequest,
): Promise<TCreatedApiKey> {
  // A terminal is bound to its store; the app's and the brand's servers act for the whole brand.
  if (input.storeId !== undefined && input.scope !== 'pos') throw fieldError('storeId', 'only a pos key can be bound to a store');
  return withTransaction(deps.db, async (trx) => {
    const tenant = await repo.findTenant(trx, tenantId);
    if (!tenant) throw notFound(tenantId);
    if (input.storeId !== undefined) await requireStore({ db: trx }, tenantId, input.storeId);
    const keyId = `key_${randomToken(12)}`;
    const secret = randomToken(32);
    const row = await repo.insertApiKey(trx, {
      tenant_id: tenantId,
      id: keyId,
      name: input.name,
      scope: input.scope,
      prefix: apiKeyPrefix(input.scope, tenantId, keyId),
      secret_hash: hashSecret(secret),
      last_used_at: null,
      revoked_at: null,
      store_id: input.storeId ?? null,
    });
    await enqueueEvent(trx, tenantId, {
      topic: 'api_key.created',
      payload: { tenantId, keyId, scope: input.scope, storeId: input.storeId ?? null },
    });
    return { ...toApiKeyDto(row), key: formatApiKey(input.scope, tenantId, keyId, secret) };
  });
}

export async function listApiKeys(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TApiKey[]> {
  if (!(await repo.findTenant(deps.db, tenantId))) throw notFound(tenantId);
  return (await repo.listApiKeys(deps.db, tenantId)).map(toApiKeyDto);
}

/** Revoking is final and repeatable: revoking a revoked key returns it unchanged. */
export async function revokeApiKey(deps: Pick<Deps, 'db'>, tenantId: string, keyId: string): Promise<TApiKey> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.revokeApiKey(trx, tenantId, keyId);
    if (!row) throw new AppError('NOT_FOUND', `API key ${keyId} does not exist.`, { tenantId, keyId });
    await enqueueEvent(trx, tenantId, { topic: 'api_key.revoked', payload: { tenantId, keyId } });
    return toApiKeyDto(row);
  });
}

const TOUCH_EVERY_MS = 60_000;

/**
 * Verifies `Authorization: Bearer <key>` values. Every call reads the key (so a revocation takes
 * effect at once, in every process); the last-use time is written at most once a minute per key.
 */
export function createApiKeyAuthenticator(deps: Pick<Deps, 'db' | 'log'>) {
  const touched = new Map<string, number>();

  return async function authenticate(raw: string): Promise<AuthContext & { kind: 'api_key' }> {
    const parsed = parseApiKey(raw);
    if (!parsed) throw new AppError('UNAUTHENTICATED', 'The API key is malformed.');
    // The key names its tenant, so the lookup runs under it like the request it authenticates.
    return withTenant(parsed.tenantId, () => check(parsed));
  };

  async function check(parsed: NonNullable<ReturnType<typeof parseApiKey>>): Promise<AuthContext & { kind: 'api_key' }> {
    const found = await repo.findApiKeyForAuth(deps.db, parsed.tenantId, parsed.keyId);
    if (!found || found.scope !== parsed.scope || !secretMatches(parsed.secret, found.secret_hash)) {
      throw new AppError('UNAUTHENTICATED', 'The API key is not valid.');
    }
    if (found.revoked_at) throw new AppError('UNAUTHENTICATED', 'The API key has been revoked.');
    if (found.tenant_status !== 'active') {
      throw new AppError('TENANT_SUSPENDED', `The tenant is ${found.tenant_status}.`, { status: found.tenant_status });
    }

    const now = Date.now();
    if (now - (touched.get(parsed.keyId) ?? 0) > TOUCH_EVERY_MS) {
      touched.set(parsed.keyId, now);
      await repo.touchApiKey(deps.db, parsed.tenantId, parsed.keyId);
    }
    return { kind: 'api_key', tenantId: parsed.tenantId, keyId: parsed.keyId, scope: parsed.scope, storeId: found.store_id };
  }
}
