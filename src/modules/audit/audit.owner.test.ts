import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pg from 'pg';
import { writeAccessAt } from '../../../test/access-log-fixtures.ts';
import { randomBrn, testConfig } from '../../../test/helpers.ts';
import { createDatabase, type Database, type Db } from '../../platform/db.ts';
import { asSystem, withTenant } from '../../platform/db-context.ts';
import { createLogger } from '../../platform/logger.ts';
import { migrate, readMigrations } from '../../platform/migrate.ts';
import { createTenant } from '../tenants/index.ts';
import { purgeAccessLogs, recordAccess, verifyAccessLog } from './index.ts';

// The append and purge functions are SECURITY DEFINER, owned by the migration role, and FORCE ROW
// LEVEL SECURITY applies to that owner too. In the other tests the owner is a superuser (which
// bypasses row-level security); here it is not, as in production (README, "Roles and row-level
// security"): a database migrated by an owner that is no superuser and no member of moa_app or
// moa_system, used by the application roles. On PGlite and, with TEST_DATABASE_URL, on PostgreSQL.

const serverUrl = process.env.TEST_DATABASE_URL;
const entry = (member: string) => ({
  operatorId: 'opr_owner',
  ip: '192.0.2.10',
  action: 'unmask' as const,
  memberIds: [member],
  fields: ['phone' as const],
  reason: '배송 문의 확인',
});

/** What the production roles do with the log, the owner being `owner` (no superuser). */
async function exercise(app: Db, ownerDb: Db, owner: string, dropOwnerPolicy: () => Promise<void>): Promise<void> {
  const { rows: who } = await asSystem(() =>
    sql<{ owner: string; superuser: boolean }>`select pg_get_userbyid(p.proowner) as owner, r.rolsuper as superuser
      from pg_proc p join pg_roles r on r.oid = p.proowner where p.proname = 'moa_access_log_append'`.execute(app),
  );
  assert.deepEqual(who, [{ owner, superuser: false }]);
  const deps = { db: app, config: testConfig(), log: createLogger('silent') };
  const tenant = async () =>
    (await asSystem(() => createTenant(deps, { name: 'Owner Brand', businessRegistrationNumber: randomBrn(), locale: 'ko-KR' })))
      .id;

  const t = await tenant();
  assert.equal((await withTenant(t, () => recordAccess(app, t, entry('mbr_1')))).seq, 1);
  assert.equal((await asSystem(() => recordAccess(app, t, entry('mbr_2')))).seq, 2);
  const v = await withTenant(t, () => verifyAccessLog(deps, t));
  assert.deepEqual([v.ok, v.rows, v.head.seq], [true, 2, 2]);
  await assert.rejects(
    withTenant(t, () => sql`delete from access_log where tenant_id = ${t}`.execute(app)),
    (err: { code?: string }) => err.code === '42501',
  );

  // Retention through the purge function, run by the job's role.
  const old = await tenant();
  const past = new Date(Date.now() - 3 * 366 * 86_400_000);
  await writeAccessAt(ownerDb, old, past);
  await asSystem(() => recordAccess(app, old, entry('mbr_3')));
  assert.deepEqual(await asSystem(() => purgeAccessLogs({ ...deps }, { tenantId: old })), { purged: 1, tenants: 1 });
  const kept = await asSystem(() => verifyAccessLog(deps, old));
  assert.deepEqual([kept.ok, kept.rows, kept.anchor?.seq], [true, 1, 1]);

  // Without the owner's policies the functions see and write nothing: the owner is under FORCE too.
  await dropOwnerPolicy();
  await assert.rejects(
    withTenant(t, () => recordAccess(app, t, entry('mbr_4'))),
    (err: { code?: string; message?: string }) => err.code === '42501' && /row-level security/.test(err.message ?? ''),
  );
}

test('PGlite: the log works under an owner that is no superuser (migrations run as that role)', async () => {
  const owner = `moa_owner_${randomBytes(3).toString('hex')}`;
  const raw = await PGlite.create();
  await raw.exec(
    `create role ${owner} nologin; create role moa_app nologin; create role moa_system nologin; alter schema public owner to ${owner};`,
  );
  // What migrate() does, as that role (migrate() itself runs as the login, a superuser on PGlite).
  await raw.exec(`set role ${owner}; create table schema_migration (name text primary key, checksum text not null,
    applied_at timestamptz not null default now()); reset role;`);
  for (const m of readMigrations()) {
    await raw.exec(`set role ${owner};\n${m.sql}\n;reset role;`).catch((err: Error) => {
      throw new Error(`${m.name}: ${err.message}`);
    });
  }
  const dump = await raw.dumpDataDir('none');
  await raw.close();
  const database = await createDatabase({ loadDataDir: dump, unscoped: 'system' });
  try {
    await exercise(database.db, database.db, owner, async () => {
      await database.withSession((s) => s.exec('drop policy owner_writes on access_log'));
    });
  } finally {
    await database.close();
  }
});

test('PostgreSQL: the log works under the README’s roles (an owner login that is no superuser, an application login)', {
  skip: serverUrl ? false : 'needs TEST_DATABASE_URL',
}, async () => {
  const suffix = randomBytes(4).toString('hex');
  const [owner, api] = [`moa_owner_${suffix}`, `moa_api_${suffix}`];
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const opened: Database[] = [];
  try {
    await admin.query(`create role ${owner} login; create role ${api} login`);
    await admin.query(`do $$ begin
      if not exists (select from pg_roles where rolname = 'moa_app') then create role moa_app nologin; end if;
      if not exists (select from pg_roles where rolname = 'moa_system') then create role moa_system nologin; end if;
    exception when duplicate_object or unique_violation then null; end $$`);
    await admin.query(`grant moa_app, moa_system to ${api}`);
    await admin.query(`create database ${owner} owner ${owner}`);
    const url = (login: string) => Object.assign(new URL(serverUrl!), { username: login, pathname: `/${owner}` }).toString();
    const ownerDb = await createDatabase({ databaseUrl: url(owner), poolSize: 2 });
    opened.push(ownerDb);
    await migrate(ownerDb);
    const appDb = await createDatabase({ databaseUrl: url(api), poolSize: 5, unscoped: 'system' });
    opened.push(appDb);
    await exercise(appDb.db, ownerDb.db, owner, async () => {
      await ownerDb.withSession((s) => s.exec('drop policy owner_writes on access_log'));
    });
  } finally {
    for (const d of opened) await d.close();
    await admin.query(`drop database if exists ${owner} with (force)`);
    await admin.query(`drop role if exists ${api}`);
    await admin.query(`drop role if exists ${owner}`);
    await admin.end();
  }
});
