import { createHash } from 'node:crypto';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { newId, randomToken } from '../../platform/ids.ts';
import { claimAttempt, limitSecretCheck, resetAttempts } from '../../platform/limits.ts';
import { pageOf, type TPageQuery } from '../../platform/pages.ts';
import { hashPassword, verifyPasswordOrDummy } from '../../platform/passwords.ts';
import { piiFor } from '../../platform/pii.ts';
import { txMemo } from '../../platform/tx-memo.ts';
import type { TManager, TStore } from './stores.schemas.ts';
import type { StoreManagerRow, StoreRow, StoreStatus } from './stores.tables.ts';

// Stores, the managers registered to them (a manager per person, for one or more stores) and the
// stamp devices of each store. A manager logs in with an ID and password (locked for a while after
// repeated wrong passwords) and gets a session token for the store-manager routes.

const MAX_FAILED_LOGINS = 5;
const LOCKOUT_MS = 15 * 60_000;
const LOGIN_ATTEMPTS = 'manager_login';
const SESSION_MS = 12 * 3_600_000;
const tokenHash = (token: string) => createHash('sha256').update(token).digest();

const toStore = (r: StoreRow): TStore => ({
  id: r.id,
  code: r.code,
  name: r.name,
  address: r.address,
  region: r.region,
  status: r.status,
  createdAt: r.created_at.toISOString(),
});

export async function createStore(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  s: { code: string; name: string; address: string; region: string; status: StoreStatus },
): Promise<TStore> {
  const row = await deps.db
    .insertInto('store')
    .values({ tenant_id: tenantId, id: newId('sto'), ...s })
    .onConflict((oc) => oc.columns(['tenant_id', 'code']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError('CONFLICT', `A store with code ${s.code} exists already.`, { code: s.code });
  return toStore(row);
}

export async function updateStore(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  storeId: string,
  s: Partial<{ name: string; address: string; region: string; status: StoreStatus }>,
): Promise<TStore> {
  // An empty change is a no-op (the route refuses it first): an SQL SET needs a column.
  const row =
    Object.keys(s).length === 0
      ? await deps.db
          .selectFrom('store')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', storeId)
          .executeTakeFirst()
      : await deps.db
          .updateTable('store')
          .set(s)
          .where('tenant_id', '=', tenantId)
          .where('id', '=', storeId)
          .returningAll()
          .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No store ${storeId}.`);
  return toStore(row);
}

/** The brand's stores in the order they were registered, a page at a time; `status` narrows them. */
export async function listStores(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  page: TPageQuery & { status?: TStore['status'] | undefined } = { limit: 200 },
) {
  const rows = await deps.db
    .selectFrom('store')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(page.status !== undefined, (q) => q.where('status', '=', page.status!))
    .$if(page.cursor !== undefined, (q) => q.where('id', '>', page.cursor!))
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows, page.limit, toStore);
}

/** The store, which must exist and be active. */
export async function activeStore(deps: Pick<Deps, 'db'>, tenantId: string, storeId: string): Promise<TStore> {
  const row = await deps.db
    .selectFrom('store')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', storeId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No store ${storeId}.`);
  if (row.status !== 'active')
    throw new AppError('STORE_NOT_ACTIVE', `Store ${row.name} is ${row.status}.`, { storeId, status: row.status });
  return toStore(row);
}

/**
 * The store named by a write (an earning, a charge, a checkout) must be the tenant's: NOT_FOUND
 * otherwise. Any status: a sale replayed from a store closed since still belongs to it. One
 * primary-key lookup, once per transaction however many modules of one checkout ask.
 */
export async function requireStore(deps: Pick<Deps, 'db'>, tenantId: string, storeId: string): Promise<void> {
  await txMemo(deps.db, `store:${tenantId}:${storeId}`, async () => {
    const row = await deps.db
      .selectFrom('store')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', storeId)
      .executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `No store ${storeId}.`, { storeId });
    return true;
  });
}

async function storeIdsOf(deps: Pick<Deps, 'db'>, tenantId: string, managerId: string): Promise<string[]> {
  const rows = await deps.db
    .selectFrom('store_manager_store')
    .select('store_id')
    .where('tenant_id', '=', tenantId)
    .where('manager_id', '=', managerId)
    .orderBy('store_id')
    .execute();
  return rows.map((r) => r.store_id);
}

const toManager = (r: StoreManagerRow, storeIds: string[]): TManager => ({
  id: r.id,
  loginId: r.login_id,
  name: r.name,
  status: r.status,
  storeIds,
});

/** Every one of the stores must be the tenant's: NOT_FOUND naming those that are not. One statement. */
export async function requireStores(deps: Pick<Deps, 'db'>, tenantId: string, storeIds: readonly string[]): Promise<void> {
  const known = storeIds.length
    ? await deps.db.selectFrom('store').select('id').where('tenant_id', '=', tenantId).where('id', 'in', storeIds).execute()
    : [];
  const missing = storeIds.filter((id) => !known.some((k) => k.id === id));
  if (missing.length) throw new AppError('NOT_FOUND', `No store ${missing.join(', ')}.`, { storeIds: missing });
}

async function setStores(deps: Pick<Deps, 'db'>, tenantId: string, managerId: string, storeIds: string[]) {
  await withTransaction(deps.db, async (trx) => {
    await requireStores({ db: trx }, tenantId, storeIds);
    await trx.deleteFrom('store_manager_store').where('tenant_id', '=', tenantId).where('manager_id', '=', managerId).execute();
    if (storeIds.length)
      await trx
        .insertInto('store_manager_store')
        .values([...new Set(storeIds)].map((store_id) => ({ tenant_id: tenantId, manager_id: managerId, store_id })))
        .execute();
  });
}

/** A store manager account (one per person), registered to one or more stores. */
export async function createManager(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  m: { loginId: string; name: string; password: string; storeIds: string[] },
): Promise<TManager> {
  const passwordHash = await hashPassword(m.password);
  return withTransaction(deps.db, async (trx) => {
    const row = await trx
      .insertInto('store_manager')
      .values({
        tenant_id: tenantId,
        id: newId('mgr'),
        login_id: m.loginId,
        name: m.name,
        password_hash: passwordHash,
        locked_until: null,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'login_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('LOGIN_ID_TAKEN', `Another store manager uses the login ID ${m.loginId}.`);
    await setStores({ db: trx }, tenantId, row.id, m.storeIds);
    return toManager(row, await storeIdsOf({ db: trx }, tenantId, row.id));
  });
}

export async function setManagerStores(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  managerId: string,
  storeIds: string[],
): Promise<TManager> {
  const row = await deps.db
    .selectFrom('store_manager')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', managerId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No store manager ${managerId}.`);
  await setStores(deps, tenantId, managerId, storeIds);
  return toManager(row, await storeIdsOf(deps, tenantId, managerId));
}

/**
 * Login: an attempt is claimed per login ID before the password is checked (one conditional
 * statement, platform/limits.ts); at 5 in a row the login locks for 15 minutes. Unknown IDs are
 * counted and checked (against a dummy hash) the same way, so the answers tell nothing of which exist.
 */
export async function managerLogin(
  deps: Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey'>,
  tenantId: string,
  input: { loginId: string; password: string; ip?: string },
) {
  const now = deps.clock.now();
  const subject = piiFor(deps.masterKey).hash(tenantId, 'login', `manager:${input.loginId}`);
  await limitSecretCheck(deps, tenantId, { kind: LOGIN_ATTEMPTS, credential: subject, ip: input.ip });
  const claim = await claimAttempt(
    deps.db,
    tenantId,
    LOGIN_ATTEMPTS,
    subject,
    { max: MAX_FAILED_LOGINS, lockoutMs: LOCKOUT_MS },
    now,
  );
  if (claim.locked)
    throw new AppError('LOGIN_LOCKED', 'Too many wrong passwords: try again later.', {
      retryAfterSeconds: claim.retryAfterSeconds,
    });
  const found = await deps.db
    .selectFrom('store_manager')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('login_id', '=', input.loginId)
    .executeTakeFirst();
  const row = found?.status === 'active' ? found : undefined;
  const ok = await verifyPasswordOrDummy(input.password, row?.password_hash);
  if (!ok || !row) throw new AppError('INVALID_CREDENTIALS', 'The login ID or the password is wrong.');
  await resetAttempts(deps.db, tenantId, LOGIN_ATTEMPTS, subject);
  const token = `smt_${randomToken(43)}`;
  const expiresAt = new Date(now.getTime() + SESSION_MS);
  await deps.db
    .insertInto('store_manager_session')
    .values({ token_hash: tokenHash(token), tenant_id: tenantId, manager_id: row.id, expires_at: expiresAt })
    .execute();
  return { token, expiresAt: expiresAt.toISOString(), manager: toManager(row, await storeIdsOf(deps, tenantId, row.id)) };
}

/** The manager behind an X-Manager-Token. */
export async function authenticateManager(
  deps: Pick<Deps, 'db' | 'clock'>,
  tenantId: string,
  token: string | undefined,
): Promise<TManager> {
  const unauthenticated = () => new AppError('UNAUTHENTICATED', 'Send a valid store manager session token in X-Manager-Token.');
  if (!token) throw unauthenticated();
  const session = await deps.db
    .selectFrom('store_manager_session')
    .selectAll()
    .where('token_hash', '=', tokenHash(token))
    .executeTakeFirst();
  if (!session || session.tenant_id !== tenantId || session.expires_at <= deps.clock.now()) throw unauthenticated();
  const row = await deps.db
    .selectFrom('store_manager')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', session.manager_id)
    .executeTakeFirst();
  if (row?.status !== 'active') throw unauthenticated();
  return toManager(row, await storeIdsOf(deps, tenantId, row.id));
}

/** Throws NOT_STORE_MANAGER unless the manager is registered to the (active) store. */
export async function requireStoreManager(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  manager: TManager,
  storeId: string,
): Promise<TStore> {
  if (!manager.storeIds.includes(storeId)) {
    throw new AppError('NOT_STORE_MANAGER', `${manager.name} is not a registered manager of store ${storeId}.`, {
      managerId: manager.id,
      storeId,
    });
  }
  return activeStore(deps, tenantId, storeId);
}

/** Registers a stamp device to a store; a device registered to another store is refused. */
export async function registerDevice(deps: Pick<Deps, 'db'>, tenantId: string, storeId: string, serial: string) {
  await activeStore(deps, tenantId, storeId);
  await deps.db
    .insertInto('stamp_device')
    .values({ tenant_id: tenantId, serial, store_id: storeId })
    .onConflict((oc) => oc.columns(['tenant_id', 'serial']).doNothing())
    .execute();
  const row = await deps.db
    .selectFrom('stamp_device')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('serial', '=', serial)
    .executeTakeFirstOrThrow();
  if (row.store_id !== storeId)
    throw new AppError('DEVICE_ALREADY_REGISTERED', `Device ${serial} is registered to another store.`, {
      serial,
      storeId: row.store_id,
    });
  return { serial: row.serial, storeId: row.store_id, registeredAt: row.registered_at.toISOString() };
}

export async function unregisterDevice(deps: Pick<Deps, 'db'>, tenantId: string, storeId: string, serial: string): Promise<void> {
  const r = await deps.db
    .deleteFrom('stamp_device')
    .where('tenant_id', '=', tenantId)
    .where('store_id', '=', storeId)
    .where('serial', '=', serial)
    .executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw new AppError('NOT_FOUND', `No device ${serial} at store ${storeId}.`);
}

/** The store a device is registered to (a stamp from a device earns at its store). */
export async function deviceStore(deps: Pick<Deps, 'db'>, tenantId: string, serial: string): Promise<string> {
  const row = await deps.db
    .selectFrom('stamp_device')
    .select('store_id')
    .where('tenant_id', '=', tenantId)
    .where('serial', '=', serial)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No registered device ${serial}.`);
  return row.store_id;
}
