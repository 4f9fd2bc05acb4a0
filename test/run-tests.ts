// `npm test`: prepares one migrated database for the whole run, then runs every *.test.ts file
// through node's test runner (tsx --test), each file in its own process.
//
//   embedded (default)       a migrated PGlite is dumped once; each test process loads the dump
//   TEST_DATABASE_URL=…      a fresh database is created on that server, migrated, and dropped after
//
// Tests isolate themselves by creating their own tenant, so they share the database safely.
// Extra arguments select files: npm test -- src/platform/outbox.test.ts
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { createDatabase } from '../src/platform/db.ts';
import { migrate } from '../src/platform/migrate.ts';
import { createScratchDatabase } from './scratch-database.ts';

const root = new URL('..', import.meta.url).pathname;

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : findTests(path);
    return name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

async function prepare(): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const scratch = await createScratchDatabase(serverUrl, 'moa_test');
    const database = await createDatabase({ databaseUrl: scratch.url, poolSize: 2 });
    await migrate(database);
    await database.close();
    process.stdout.write(`# test database: PostgreSQL ${scratch.name} (dropped after the run)\n`);
    return { env: { MOA_TEST_DB_URL: scratch.url }, cleanup: scratch.drop };
  }

  const started = Date.now();
  const database = await createDatabase({});
  await migrate(database);
  const dump = await database.dump!();
  await database.close();
  const dir = join(root, '.moa-test');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `template-${process.pid}.tar`);
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  process.stdout.write(`# test database: embedded PGlite template prepared in ${Date.now() - started} ms\n`);
  return { env: { MOA_TEST_PGLITE_TEMPLATE: file }, cleanup: async () => rmSync(file, { force: true }) };
}

const selected = process.argv.slice(2);
const files = selected.length ? selected : [...findTests(join(root, 'src')), ...findTests(join(root, 'test'))].sort();
const { env, cleanup } = await prepare();

const concurrency = Math.max(2, availableParallelism());
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-force-exit', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } },
);
const code: number = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await cleanup();
process.exit(code);
