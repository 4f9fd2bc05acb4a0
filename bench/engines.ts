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

/** A migrated, empty database of the engine, and how to throw it away. */
export async function openBenchDatabase(engine: string, name: string, poolSize = 20): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  let database: Database;
  let cleanup: () => Promise<void>;
  if (engine === 'postgres') {
    if (!serverUrl) throw new Error('postgres needs DATABASE_URL or TEST_DATABASE_URL');
    const scratch = await createScratchDatabase(serverUrl, `moa_bench_${name}`);
    database = await createDatabase({ databaseUrl: scratch.url, poolSize });
    cleanup = async () => {
      await database.close();
      await scratch.drop();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), `moa-bench-${name}-`));
    database = await createDatabase({ dataDir: dir });
    cleanup = async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  await migrate(database);
  return { database, cleanup };
}
