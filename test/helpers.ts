// Shared by every test file: one database per test process (prepared by test/run-tests.ts), an
// app built on it, and a fresh tenant per test so tests never see each other's data.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../src/app.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { completeVerification, startVerification, type VerificationPurpose } from '../src/modules/identity/index.ts';
import { importMembers } from '../src/modules/members/index.ts';
import { openSession } from '../src/modules/members/member-sessions.service.ts';
import { totpCode } from '../src/modules/operators/index.ts';
import { createApiKey, createTenant, type TTenant } from '../src/modules/tenants/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createDatabase, type Database, type Db } from '../src/platform/db.ts';
import type { Deps } from '../src/platform/deps.ts';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrate.ts';
import { createOutboxWorker } from '../src/platform/outbox.ts';
import { createProviders } from '../src/providers.ts';

export const PLATFORM_TOKEN = 'test-platform-token-0123456789abcdef';

let database: Promise<Database> | undefined;

/**
 * The process's database: the run's PostgreSQL database, the PGlite template, or a fresh PGlite.
 * Tests call services directly outside any request, so work with no context of its own runs as
 * moa_system (every row); HTTP requests run under their tenant exactly as in production, and
 * src/platform/rls.test.ts checks the production default (no context: nothing visible).
 */
export function testDatabase(): Promise<Database> {
  database ??= (async () => {
    const url = process.env.MOA_TEST_DB_URL;
    // Test files run side by side on two cores, and a test's own load can hold every pooled
    // connection for seconds: waiting longer than production's 5 s is not an outage here.
    if (url) return createDatabase({ databaseUrl: url, poolSize: 20, connectTimeoutMs: 120_000, unscoped: 'system' });
    const template = process.env.MOA_TEST_PGLITE_TEMPLATE;
    if (template) return createDatabase({ loadDataDir: new Blob([readFileSync(template)]), unscoped: 'system' });
    // A test file run on its own (node --import tsx --test file.test.ts).
    const db = await createDatabase({ unscoped: 'system' });
    await migrate(db);
    return db;
  })();
  return database;
}

export const testConfig = (env: Record<string, string> = {}): Config =>
  loadConfig({ MOA_PLATFORM_TOKEN: PLATFORM_TOKEN, LOG_LEVEL: 'silent', ...env });

export async function testDeps(overrides: Partial<Deps> = {}): Promise<Deps & { engine: Database['engine'] }> {
  const { db, engine } = await testDatabase();
  return depsOn(db, engine, overrides);
}

/** Deps on a given database (a test's own scratch database or cluster), built as main.ts builds them. */
export function depsOn(db: Db, engine: Database['engine'], overrides: Partial<Deps> = {}): Deps & { engine: Database['engine'] } {
  const log = createLogger('silent');
  const base = {
    config: testConfig(),
    db,
    log,
    clock: systemClock,
    outbox: createOutboxWorker({ db, log }),
    masterKey: randomBytes(32),
    engine,
    ...overrides,
  };
  // Built from the config, db, key and clock in use, as main.ts does (unless a test brings its own).
  return { ...base, providers: overrides.providers ?? createProviders(base.config, base) };
}

export async function testApp(overrides: Partial<Deps> = {}): Promise<{ app: FastifyInstance; deps: Deps; engine: string }> {
  const deps = await testDeps(overrides);
  const app = await buildApp(deps, { engine: deps.engine });
  return { app, deps, engine: deps.engine };
}

const BRN_WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5];

/** A random business registration number with a correct check digit. */
export function randomBrn(): string {
  const d = [2 + Math.floor(Math.random() * 7), ...Array.from({ length: 8 }, () => Math.floor(Math.random() * 10))];
  d[3] = 1 + (d[3]! % 9); // the type code (digits 4-5) is never 00
  d[5] = 1 + (d[5]! % 9); // the serial (digits 6-9) is never 0000
  let sum = d.reduce((s, v, i) => s + v * BRN_WEIGHTS[i]!, 0);
  sum += Math.floor((d[8]! * 5) / 10);
  return [...d, (10 - (sum % 10)) % 10].join('');
}

export type TestTenant = { tenant: TTenant; key: string; keys: Record<'pos' | 'app' | 'server', string> };

/** A new tenant with one API key of each scope. */
export async function newTenant(deps: Pick<Deps, 'db' | 'config'>, name = 'Test Brand'): Promise<TestTenant> {
  const tenant = await createTenant(deps, { name, businessRegistrationNumber: randomBrn(), locale: 'ko-KR' });
  const keys = {
    pos: (await createApiKey(deps, tenant.id, { name: 'pos', scope: 'pos' })).key,
    app: (await createApiKey(deps, tenant.id, { name: 'app', scope: 'app' })).key,
    server: (await createApiKey(deps, tenant.id, { name: 'server', scope: 'server' })).key,
  };
  return { tenant, key: keys.server, keys };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const platform = { authorization: `Bearer ${PLATFORM_TOKEN}` };

/** Grants identity verification units to a tenant through the platform API. */
export async function grantUnits(app: FastifyInstance, tenantId: string, units: number): Promise<void> {
  const res = await app.inject({
    method: 'POST',
    url: `/platform/v1/tenants/${tenantId}/verification-units`,
    headers: { ...platform, 'idempotency-key': `grant-${randomBytes(8).toString('hex')}` },
    payload: { units },
  });
  if (res.statusCode !== 200) throw new Error(res.body);
}

/** A verification completed in the sandbox as a test person (or a typed one): what a tester's browser does. */
export async function sandboxVerified(
  app: FastifyInstance,
  deps: Deps,
  tenantId: string,
  purpose: VerificationPurpose,
  form: Record<string, string> = { person: 'hong' },
  minAge = 14,
): Promise<string> {
  const v = await startVerification(deps, tenantId, {
    purpose,
    method: 'phone',
    returnUrl: 'https://app.example.com/back',
    minAge,
    preview: false,
  });
  const res = await app.inject({
    method: 'POST',
    url: `/sandbox/identity/${v.requestNo}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ outcome: 'success', ...form }).toString(),
  });
  if (res.statusCode !== 303) throw new Error(res.body);
  const done = await completeVerification(deps, tenantId, v.id);
  if (done.status !== 'verified') throw new Error(`verification ${done.status}: ${done.reason}`);
  return v.id;
}

let memberSeq = 0;

/** n active members of a tenant, through the member import (ids in login-ID order). */
export async function newMembers(deps: Deps, tenantId: string, n: number): Promise<string[]> {
  const batch = ++memberSeq;
  const tag = `${process.pid}x${batch}`;
  const rows = Array.from(
    { length: n },
    (_, i) =>
      `m${tag}n${String(i).padStart(4, '0')},회원${i},010${String(20_000_000 + ((process.pid * 7919 + batch * 1000 + i) % 79_999_999)).padStart(8, '0')},Y,Y`,
  );
  await importMembers(deps, tenantId, `members-${tag}`, [
    ['login_id,name,phone,consent_terms,consent_privacy', ...rows].join('\n'),
  ]);
  const ids = await deps.db
    .selectFrom('member')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('login_id', 'like', `m${tag}n%`)
    .orderBy('login_id')
    .execute();
  if (ids.length !== n) throw new Error(`imported ${ids.length} of ${n} members`);
  return ids.map((r) => r.id);
}

/** A member session token, as a login would give (for /me routes). */
export async function memberToken(deps: Deps, tenantId: string, memberId: string): Promise<string> {
  return (await openSession(deps, tenantId, memberId, 'test')).token;
}

/** Stores with the given ids (as a POS names them), for writes that must name a store of the tenant. */
export async function addStores(deps: Pick<Deps, 'db'>, tenantId: string, ids: string[]): Promise<void> {
  await deps.db
    .insertInto('store')
    .values(ids.map((id) => ({ tenant_id: tenantId, id, code: id, name: `Store ${id}` })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Rows per table holding the tenant's data (every table with a tenant_id), the idempotency records left out. */
export async function tenantRows(deps: Pick<Deps, 'db'>, tenantId: string): Promise<Record<string, number>> {
  const tables = await sql<{ table_name: string }>`
    select c.table_name from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
    where c.table_schema = current_schema() and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE' and c.table_name <> 'idempotency_key'
    order by 1`.execute(deps.db);
  const counts: Record<string, number> = {};
  for (const { table_name } of tables.rows) {
    const r = await sql<{ n: string }>`select count(*) as n from ${sql.table(table_name)} where tenant_id = ${tenantId}`.execute(
      deps.db,
    );
    counts[table_name] = Number(r.rows[0]!.n);
  }
  return counts;
}

/** The console's origin as app.inject presents it (host localhost:80). */
export const CONSOLE_ORIGIN = 'http://localhost:80';
export const OPERATOR_PASSWORD = 'moa-console-장미-2026';

/**
 * An operator of `role` signed in through the real flow (invitation by the server key, password,
 * TOTP enrolment): the cookie header to send, the TOTP secret and the e-mail.
 */
export async function signedInOperator(
  app: FastifyInstance,
  t: TestTenant,
  role: string,
  now = new Date(),
  storeIds: string[] | null = null,
) {
  const email = `op.${randomBytes(5).toString('hex')}@moacafe.kr`;
  const invited = await app.inject({
    method: 'POST',
    url: '/v1/operators/invitations',
    headers: bearer(t.keys.server),
    payload: { email, name: '김민지', role, storeIds },
  });
  if (invited.statusCode !== 201) throw new Error(`invitation: ${invited.body}`);
  let cookie = '';
  const send = async (url: string, payload?: object) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { origin: CONSOLE_ORIGIN, ...(cookie ? { cookie } : {}) },
      ...(payload ? { payload } : {}),
    });
    const set = String(res.headers['set-cookie'] ?? '');
    if (set) cookie = set.split(';')[0]!;
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.body}`);
    return res.json();
  };
  await send(`/auth/invitations/${invited.json().token}/accept`, { password: OPERATOR_PASSWORD });
  const { secret } = await send('/auth/enrol/totp');
  await send('/auth/enrol/totp/confirm', { code: totpCode(secret, now) });
  return { cookie, secret: secret as string, email, headers: { cookie, origin: CONSOLE_ORIGIN } };
}
