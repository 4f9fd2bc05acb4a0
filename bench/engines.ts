// The databases a benchmark runs on: pglite (file-backed, in a temporary folder) and postgres (a
// scratch database on the server of DATABASE_URL or TEST_DATABASE_URL, dropped afterwards).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, type Database } from '../src/platform/db.ts';
import { migrate } from '../src/platform/migrate.ts';
import { createScratchDatabase } from '../test/scratch-database.ts';

export const serverUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;

/** BENCH_ENGINES, or pglite plus postgres when a server is named. */
export const benchEngines = () => (process.env.BENCH_ENGINES ?? (serverUrl ? 'pglite,postgres' : 'pglite')).split(',');

/**
 * BENCH_RLS: 'off' (the baseline: every query as the login, the tables' owner, no row-level
 * security) and/or 'on' (requests as moa_app under their tenant, the committer as moa_system).
 */
export const benchRls = () => (process.env.BENCH_RLS ?? 'off,on').split(',') as ('off' | 'on')[];

/** A migrated, empty database of the engine, and how to throw it away. */
export async function openBenchDatabase(
  engine: string,
  name: string,
  poolSize = 20,
  rls: 'off' | 'on' = 'on',
): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  const roles = rls === 'on';
  let database: Database;
  let cleanup: () => Promise<void>;
  if (engine === 'postgres') {
    if (!serverUrl) throw new Error('postgres needs DATABASE_URL or TEST_DATABASE_URL');
    const scratch = await createScratchDatabase(serverUrl, `moa_bench_${name}`);
    database = await createDatabase({ databaseUrl: scratch.url, poolSize, roles });
    cleanup = async () => {
      await database.close();
      await scratch.drop();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), `moa-bench-${name}-`));
    database = await createDatabase({ dataDir: dir, roles });
    cleanup = async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  await migrate(database);
  return { database, cleanup };
}
