import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { type KyselyPlugin, sql } from 'kysely';
import { bearer, newTenant, platform, testApp, testDeps } from '../../test/helpers.ts';
import { type Db, withTransaction } from './db.ts';
import { APP_ROLE, asSystem, currentDbContext, type DbContext, SYSTEM_ROLE, withoutTenant, withTenant } from './db-context.ts';
import type { Deps } from './deps.ts';
import { purgeExpiredIdempotencyKeys } from './idempotency.ts';
import { startJobs } from './jobs.ts';
import { createOutboxWorker, enqueueOutbox } from './outbox.ts';

// Tenant isolation enforced by the database (migrations/0026_rls.sql, db-context.ts): on PGlite and
// on PostgreSQL alike (TEST_DATABASE_URL=… npm test -- src/platform/rls.test.ts).

let deps: Deps;
before(async () => {
  deps = await testDeps();
});

type TenantTable = { name: string; column: string };

/** Every table holding tenant rows: each with a tenant_id, and the tenant table itself (by id). */
async function tenantTables(db: Db): Promise<TenantTable[]> {
  const { rows } = await sql<TenantTable>`
    select c.relname as name, a.attname as column
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and not a.attisdropped
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and (a.attname = 'tenant_id' or (c.relname = 'tenant' and a.attname = 'id'))
    order by 1`.execute(db);
  return rows;
}

const count = async (db: Db, table: string, where = sql`true`) =>
  Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${where}`.execute(db)).rows[0]!.n);

async function twoTenants() {
  const a = await newTenant(deps, 'RLS A');
  const b = await newTenant(deps, 'RLS B');
  return { a: a.tenant.id, b: b.tenant.id, keys: { a: a.key, b: b.key } };
}

test('catalogue: every tenant table has RLS enabled and forced; the application roles are neither superusers, owners nor BYPASSRLS', async () => {
  const tables = await tenantTables(deps.db);
  assert.ok(tables.length >= 50, `found ${tables.length} tenant tables`);
  const { rows } = await sql<{ name: string; enabled: boolean; forced: boolean; policies: string[] | null }>`
    select c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
      (select array_agg(p.polname::text || ':' || r.rolname::text || ':' || pg_get_expr(p.polqual, p.polrelid))
       from pg_policy p join pg_roles r on r.oid = any(p.polroles) where p.polrelid = c.oid) as policies
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname in (${sql.join(tables.map((t) => t.name))})`.execute(deps.db);
  for (const t of tables) {
    const row = rows.find((r) => r.name === t.name)!;
    assert.ok(
      row.enabled && row.forced,
      `${t.name}: row-level security must be enabled and forced (select moa_enable_tenant_rls('${t.name}'))`,
    );
    const app = (row.policies ?? []).filter((p) => p.includes(`:${APP_ROLE}:`));
    assert.ok(app.length === 1 && app[0]!.includes('moa.tenant_id') && app[0]!.includes(t.column), `${t.name}: ${row.policies}`);
  }

  // The role every request runs as, and the one the cross-tenant machinery runs as.
  for (const [expected, run] of [
    [APP_ROLE, (fn: () => Promise<unknown>) => withTenant('tnt_catalogue', fn)],
    [SYSTEM_ROLE, asSystem],
  ] as const) {
    const me = await run(
      async () =>
        (
          await sql<{ user: string; superuser: boolean; bypassrls: boolean; owned: number }>`
          select current_user as user, r.rolsuper as superuser, r.rolbypassrls as bypassrls,
            (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = 'public' and pg_has_role(current_user, c.relowner, 'MEMBER')) as owned
          from pg_roles r where r.rolname = current_user`.execute(deps.db)
        ).rows[0],
    );
    assert.deepEqual(me, { user: expected, superuser: false, bypassrls: false, owned: 0 });
  }
});

test('a query without a tenant sees no tenant row, in every tenant table, inside a transaction or not', async () => {
  await twoTenants();
  const tables = await tenantTables(deps.db);
  await withoutTenant(async () => {
    for (const t of tables) assert.equal(await count(deps.db, t.name), 0, t.name);
    await withTransaction(deps.db, async (trx) => {
      for (const t of tables) assert.equal(await count(trx, t.name), 0, t.name);
    });
  });
  // The same rows are there for the system role.
  assert.ok((await asSystem(() => count(deps.db, 'api_key'))) >= 6);
});

test("a query under tenant A never sees, changes or writes tenant B's rows", async () => {
  const { a, b } = await twoTenants();
  const tables = await tenantTables(deps.db);
  await withTenant(a, async () => {
    for (const t of tables) assert.equal(await count(deps.db, t.name, sql`${sql.ref(t.column)} <> ${a}`), 0, t.name);
    // No where clause at all: only A's keys and A's own tenant row.
    assert.equal(await count(deps.db, 'api_key'), 3);
    assert.deepEqual(
      (await deps.db.selectFrom('tenant').select('id').execute()).map((r) => r.id),
      [a],
    );
    await withTransaction(deps.db, async (trx) => {
      assert.equal(await count(trx, 'api_key', sql`tenant_id = ${b}`), 0);
      const changed = await trx.updateTable('api_key').set({ name: 'taken' }).where('tenant_id', '=', b).executeTakeFirst();
      assert.equal(changed.numUpdatedRows, 0n);
    });
    await assert.rejects(
      deps.db.insertInto('outbox').values({ tenant_id: b, topic: 'rls.forged', payload: '{}' }).execute(),
      (err: { code?: string }) => err.code === '42501',
    );
  });
  assert.equal(await asSystem(() => count(deps.db, 'api_key', sql`tenant_id = ${b} and name = 'taken'`)), 0);
  assert.equal(await asSystem(() => count(deps.db, 'outbox', sql`tenant_id = ${b} and topic = 'rls.forged'`)), 0);
});

test('every query of a /v1 request runs under the tenant of its API key, and a platform request as moa_system', async () => {
  const seen: (DbContext | undefined)[] = [];
  const probe: KyselyPlugin = {
    transformQuery: (args) => (seen.push(currentDbContext()), args.node),
    transformResult: async (args) => args.result,
  };
  const { app, deps: appDeps } = await testApp({ db: (await testDeps()).db.withPlugin(probe) });
  const { a, b, keys } = await twoTenants();
  for (const [tenant, key] of [
    [a, keys.a],
    [b, keys.b],
  ] as const) {
    seen.length = 0;
    const res = await withoutTenant(() => app.inject({ method: 'GET', url: '/v1/tenant', headers: bearer(key) }));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().id, tenant);
    assert.ok(seen.length >= 2, 'the key lookup and the handler');
    assert.deepEqual(
      new Set(seen.map((c) => JSON.stringify(c))),
      new Set([JSON.stringify({ kind: 'tenant', tenantId: tenant })]),
    );
  }
  seen.length = 0;
  const list = await withoutTenant(() => app.inject({ method: 'GET', url: '/platform/v1/tenants?limit=200', headers: platform }));
  assert.equal(list.statusCode, 200, list.body);
  assert.ok(seen.length > 0 && seen.every((c) => c?.kind === 'system'));
  void appDeps;
});

test('the outbox claims across tenants as moa_system and delivers each row under its own tenant', async () => {
  const { a, b } = await twoTenants();
  const topic = `rls.${randomBytes(4).toString('hex')}`;
  for (const t of [a, b]) await enqueueOutbox(deps.db, t, { topic, payload: { t } });
  const delivered: { tenantId: string; setting: string; tenants: string[] }[] = [];
  const worker = createOutboxWorker({ db: deps.db, log: deps.log });
  worker.register(topic, 'probe', async (m) => {
    const { rows } = await sql<{ s: string }>`select current_setting('moa.tenant_id', true) as s`.execute(deps.db);
    const tenants = (await deps.db.selectFrom('tenant').select('id').execute()).map((r) => r.id);
    delivered.push({ tenantId: m.tenantId, setting: rows[0]!.s, tenants });
  });
  await withoutTenant(async () => {
    for (let i = 0; i < 10 && delivered.length < 2; i++) await worker.runOnce();
  });
  assert.deepEqual(
    delivered.sort((x, y) => x.tenantId.localeCompare(y.tenantId)),
    [a, b].sort().map((t) => ({ tenantId: t, setting: t, tenants: [t] })),
  );
  const statuses = await asSystem(() => deps.db.selectFrom('outbox').select('status').where('topic', '=', topic).execute());
  assert.deepEqual(
    statuses.map((r) => r.status),
    ['delivered', 'delivered'],
  );
});

test('a job sweeps every tenant as moa_system, while the same call without a context touches nothing', async () => {
  const { a, b } = await twoTenants();
  const expired = (t: string) => ({
    tenant_id: t,
    key: `rls-${randomBytes(4).toString('hex')}`,
    request_hash: 'x',
    response_status: 200,
    response_body: '{}',
    expires_at: new Date(Date.now() - 1000),
  });
  await asSystem(() =>
    deps.db
      .insertInto('idempotency_key')
      .values([expired(a), expired(b)])
      .execute(),
  );
  const left = () => asSystem(() => count(deps.db, 'idempotency_key', sql`tenant_id in (${a}, ${b}) and expires_at < now()`));

  assert.equal(await withoutTenant(() => purgeExpiredIdempotencyKeys(deps.db)), 0);
  assert.equal(await left(), 2);

  let ran = 0;
  const jobs = withoutTenant(() =>
    startJobs(deps.log, [
      { name: 'purge', everyMs: 60_000, run: async () => ((ran += 1), purgeExpiredIdempotencyKeys(deps.db)) },
    ]),
  );
  for (let i = 0; i < 100 && ran === 0; i++) await new Promise((r) => setTimeout(r, 60));
  await jobs.stop();
  assert.equal(ran, 1);
  assert.equal(await left(), 0);
});
