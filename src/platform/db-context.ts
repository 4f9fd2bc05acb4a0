import { AsyncLocalStorage } from 'node:async_hooks';

// Who the database sees: the tenant a request or a job item works for, carried through async calls
// (AsyncLocalStorage) and applied by db.ts when a connection is reserved, so every statement and
// every transaction runs under it. Row-level security (migrations/0026_rls.sql) then hides every
// other tenant's rows:
//   tenant   role moa_app, moa.tenant_id = the tenant: that tenant's rows only.
//   none     role moa_app, moa.tenant_id empty: no tenant row at all (the default in production).
//   system   role moa_system: every row. Only for the machinery that crosses tenants.
//   owner    the login itself (the migration role): migrations, ANALYZE, dumps.
// A transaction keeps the context it was opened with; a context entered inside it changes nothing.

export const APP_ROLE = 'moa_app';
export const SYSTEM_ROLE = 'moa_system';

export type DbContext = { kind: 'tenant'; tenantId: string } | { kind: 'none' } | { kind: 'system' } | { kind: 'owner' };

/** What a connection must have: its role ('none' = the login) and moa.tenant_id. */
export type ConnectionState = { role: string; tenant: string };

const storage = new AsyncLocalStorage<DbContext>();

/** Runs fn (and everything it starts) for one tenant. */
export function withTenant<T>(tenantId: string, fn: () => T): T {
  if (tenantId === '') throw new Error('withTenant needs a tenant id');
  return storage.run({ kind: 'tenant', tenantId }, fn);
}

/** Runs fn across tenants as moa_system: group commits, the outbox claim, jobs, platform routes, the CLI. */
export function asSystem<T>(fn: () => T): T {
  return storage.run({ kind: 'system' }, fn);
}

/** Runs fn with no tenant: tenant tables look empty. */
export function withoutTenant<T>(fn: () => T): T {
  return storage.run({ kind: 'none' }, fn);
}

/** Runs fn as the login itself (the tables' owner): migrations and maintenance only. */
export function asOwner<T>(fn: () => T): T {
  return storage.run({ kind: 'owner' }, fn);
}

export function currentDbContext(): DbContext | undefined {
  return storage.getStore();
}

/** The tenant the current context is bound to, if any. */
export function currentTenant(): string | undefined {
  const c = storage.getStore();
  return c?.kind === 'tenant' ? c.tenantId : undefined;
}

export function stateFor(context: DbContext): ConnectionState {
  switch (context.kind) {
    case 'tenant':
      return { role: APP_ROLE, tenant: context.tenantId };
    case 'none':
      return { role: APP_ROLE, tenant: '' };
    case 'system':
      return { role: SYSTEM_ROLE, tenant: '' };
    case 'owner':
      return { role: 'none', tenant: '' };
  }
}

/** One statement that puts a connection in `state` (set_config('role') is SET ROLE). */
export const APPLY_STATE_SQL = "select set_config('role', $1, false), set_config('moa.tenant_id', $2, false)";
