import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabase } from '../../test/helpers.ts';
import { createScratchDatabase } from '../../test/scratch-database.ts';
import { createDatabase } from './db.ts';
import { migrate, readMigrations } from './migrate.ts';

const serverUrl = process.env.TEST_DATABASE_URL;

test('the migrations folder is well-formed and the test database has them all, once each', async () => {
  const files = readMigrations();
  assert.ok(files.length >= 2);
  assert.deepEqual(
    files.map((m) => m.name),
    [...files.map((m) => m.name)].sort(),
  );
  const database = await testDatabase();
  const report = await migrate(database);
  assert.deepEqual(report, { applied: [], alreadyApplied: files.length }, 'a second run has nothing to do');
  // schema_migration belongs to the migration role alone (0026_rls.sql): read it as the owner.
  const rows = await database.withSession((s) =>
    s.query<{ name: string; n: number }>('select name, count(*)::int as n from schema_migration group by name order by name'),
  );
  assert.deepEqual(
    rows.map((r) => r.name),
    files.map((m) => m.name),
  );
  assert.ok(rows.every((r) => r.n === 1));
});

test('a migration edited after it was applied stops start-up', async () => {
  const database = await testDatabase();
  const [first, ...rest] = readMigrations();
  const edited = { ...first!, sql: `${first!.sql}\n-- edited`, checksum: 'different' };
  await assert.rejects(migrate(database, [edited, ...rest]), /0001_platform_core\.sql was changed after it was applied/);
});

test('a failing migration is rolled back and reported by name', async () => {
  const database = await testDatabase();
  const bad = { name: '9999_test_broken.sql', sql: 'create table test_broken_ok (id int); select 1/0;', checksum: 'x' };
  await assert.rejects(migrate(database, [...readMigrations(), bad]), /9999_test_broken\.sql failed/);
  const exists = await database.withSession((s) =>
    s.query<{ t: string | null }>("select to_regclass('test_broken_ok')::text as t"),
  );
  assert.equal(exists[0]!.t, null, 'nothing of the failed migration remains');
});

test('processes migrating the same PostgreSQL database at once apply each migration once', {
  skip: serverUrl ? false : 'needs TEST_DATABASE_URL (PGlite is a single process)',
}, async () => {
  const scratch = await createScratchDatabase(serverUrl!, 'moa_test_migrate');
  try {
    const databases = await Promise.all(
      Array.from({ length: 4 }, () => createDatabase({ databaseUrl: scratch.url, poolSize: 2 })),
    );
    const reports = await Promise.all(databases.map((d) => migrate(d)));
    const files = readMigrations().map((m) => m.name);
    assert.deepEqual(reports.flatMap((r) => r.applied).sort(), files, 'every file applied by exactly one process');
    const rows = await databases[0]!.withSession((s) =>
      s.query<{ n: number }>('select count(*)::int as n from schema_migration'),
    );
    assert.equal(rows[0]!.n, files.length);
    await Promise.all(databases.map((d) => d.close()));
  } finally {
    await scratch.drop();
  }
});
