import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './db.ts';

// Hand-written SQL files in migrations/, applied in name order, each in its own transaction
// together with its record in schema_migration. An advisory lock makes processes that start
// together take turns: the first applies, the others find nothing left to do. A file that was
// edited after it was applied stops start-up (migrations are frozen once landed).

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 0x6d6f61; // 'moa'
const NAME = /^\d{4}_[a-z0-9_]+\.sql$/;

export type Migration = { name: string; sql: string; checksum: string };
export type MigrationReport = { applied: string[]; alreadyApplied: number };

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      if (!NAME.test(name)) throw new Error(`migration file name must look like 0001_module_change.sql: ${name}`);
      const sql = readFileSync(join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export async function migrate(database: Database, migrations = readMigrations()): Promise<MigrationReport> {
  return database.withSession(async (s) => {
    await s.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await s.exec(`create table if not exists schema_migration (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`);
      const rows = await s.query<{ name: string; checksum: string }>('select name, checksum from schema_migration');
      const done = new Map(rows.map((r) => [r.name, r.checksum]));
      const applied: string[] = [];
      for (const m of migrations) {
        const checksum = done.get(m.name);
        if (checksum !== undefined) {
          if (checksum !== m.checksum) {
            throw new Error(`migration ${m.name} was changed after it was applied; add a new migration instead`);
          }
          continue;
        }
        await s.exec('begin');
        try {
          await s.exec(m.sql);
          await s.query('insert into schema_migration (name, checksum) values ($1, $2)', [m.name, m.checksum]);
          await s.exec('commit');
        } catch (err) {
          await s.exec('rollback');
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.name);
      }
      return { applied, alreadyApplied: migrations.length - applied.length };
    } finally {
      await s.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}
