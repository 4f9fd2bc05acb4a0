import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { lockDataDir } from './data-dir.ts';
import { APPLY_STATE_SQL, asOwner, type ConnectionState, currentDbContext, type DbContext, stateFor } from './db-context.ts';
import type { DB } from './db-schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';

export type { DB } from './db-schema.ts';
/** A database handle or an open transaction: services accept either and join what is open. */
export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;

/** One session for work that must stay on a single connection (migrations, advisory locks). */
export type Session = {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A multi-statement script (simple query protocol). */
  exec(script: string): Promise<void>;
};

export type Database = {
  db: Db;
  engine: 'pglite' | 'postgres';
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  /** Embedded only: the whole database as a tarball (a migrated template for tests). */
  dump?(): Promise<Blob>;
  /** Refreshes planner statistics (embedded mode has no autovacuum to do it). */
  analyze(): Promise<void>;
  close(): Promise<void>;
};

// int8 (bigint) becomes a JS number: amounts, counts and ids stay far below 2^53, and JSON can
// carry numbers but not bigint. A value beyond the safe range comes back as a bigint rather than
// being silently rounded. Calendar dates stay 'YYYY-MM-DD' strings: a JS Date would shift them
// into the server's time zone.
const parseInt8 = (v: string): number | bigint => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};
const parseDate = (v: string): string => v;
const INT8 = 20;
const DATE = 1082;

export type DatabaseOptions = {
  databaseUrl?: string | undefined;
  /** Embedded mode: PGlite keeps its files in `<dataDir>/pgdata`; omitted = in memory. */
  dataDir?: string | undefined;
  poolSize?: number;
  /** PostgreSQL: how long a request waits for a connection (a new one, or a free one of the pool). */
  connectTimeoutMs?: number;
  /** Embedded mode: start from a dump (the migrated test template). */
  loadDataDir?: Blob;
  /**
   * Work outside any db-context.ts context: 'none' (tenant tables look empty, production) or
   * 'system' (every row: tests that call services directly, short CLI commands).
   */
  unscoped?: 'none' | 'system';
  /** false: never switch roles, every query runs as the login (the no-RLS benchmark baseline). */
  roles?: boolean;
};

/**
 * Puts a connection in the role and tenant of the current context when it is reserved, with one
 * statement and only when they differ from what the connection already has: a connection that
 * serves the same tenant again costs no round trip.
 */
function connectionStates(options: DatabaseOptions) {
  const unscoped: DbContext = { kind: options.unscoped ?? 'none' };
  const known = new WeakMap<object, string>();
  return {
    enabled: options.roles !== false,
    wanted: (): ConnectionState => stateFor(currentDbContext() ?? unscoped),
    async apply(connection: object, state: ConnectionState, run: (sql: string, params: unknown[]) => Promise<unknown>) {
      const key = `${state.role}\u0000${state.tenant}`;
      if (known.get(connection) === key) return;
      known.delete(connection); // unknown until the statement succeeds
      await run(APPLY_STATE_SQL, [state.role, state.tenant]);
      known.set(connection, key);
    },
  };
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? createPostgres(options.databaseUrl, options.poolSize ?? 10, options) : createPGlite(options);
}

function createPostgres(connectionString: string, max: number, options: DatabaseOptions): Database {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8) return parseInt8;
      if (oid === DATE) return parseDate;
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    types: types as pg.CustomTypesConfig,
  });
  // A client losing its server (a restart, a terminated backend, a network cut) emits `error`; with
  // no listener that would end the process. Idle clients are the pool's `error`; a client checked
  // out mid-transaction gets its own listener here. Its query fails instead (SERVICE_UNAVAILABLE,
  // see fromDatabaseError), the pool drops the broken client on release, and the next checkout
  // connects anew once the server is back.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const states = connectionStates(options);
  // Every checkout, Kysely's and withSession's, goes through here to get its context's role and tenant.
  const connect = async (state = states.wanted()): Promise<pg.PoolClient> => {
    const client = await pool.connect();
    if (!states.enabled) return client;
    try {
      await states.apply(client, state, (text, values) => client.query(text, values));
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    return client;
  };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: { connect: () => connect(), end: () => pool.end() } }) });

  return {
    db,
    engine: 'postgres',
    async withSession(fn) {
      const client = await connect(stateFor({ kind: 'owner' }));
      try {
        return await fn({
          query: async (sql, params) => (await client.query(sql, params)).rows,
          exec: async (script) => void (await client.query(script)),
        });
      } finally {
        client.release();
      }
    },
    analyze: () => asOwner(async () => void (await sql`analyze`.execute(db))),
    close: () => db.destroy(),
  };
}

async function createPGlite(options: DatabaseOptions): Promise<Database> {
  let dataDir: string | undefined;
  let unlock = () => {};
  if (options.dataDir) {
    unlock = lockDataDir(options.dataDir);
    dataDir = join(options.dataDir, 'pgdata');
    mkdirSync(dataDir, { recursive: true });
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
      parsers: { [INT8]: parseInt8, [DATE]: parseDate },
    });
  } catch (err) {
    unlock();
    throw err;
  }
  // PGlite runs no autovacuum, so its statistics go stale as tables grow: plan every statement of
  // PL/pgSQL functions afresh instead of reusing a plan cached while the tables were tiny.
  await pglite.exec('set plan_cache_mode = force_custom_plan');
  const states = connectionStates(options);
  // One connection: the role and tenant are switched (when they differ) each time it is reserved.
  const onReserve = states.enabled
    ? () => states.apply(pglite, states.wanted(), (text, values) => pglite.query(text, values))
    : undefined;
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite, onReserve) });

  return {
    db,
    engine: 'pglite',
    // Holding a Kysely connection keeps every other query out while the session works.
    withSession: (fn) =>
      asOwner(() =>
        db.connection().execute(() =>
          fn({
            query: async (sql, params) => (await pglite.query<never>(sql, params)).rows,
            exec: async (script) => void (await pglite.exec(script)),
          }),
        ),
      ),
    dump: () => asOwner(() => db.connection().execute(() => pglite.dumpDataDir('none'))),
    analyze: () => asOwner(() => db.connection().execute(async () => void (await pglite.exec('analyze')))),
    close: async () => {
      await db.destroy();
      unlock();
    },
  };
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected

/**
 * Runs fn in a transaction, or inside the one already open when db is a transaction (services
 * call services). A new transaction that loses a serialization race or a deadlock is retried:
 * fn must therefore do database work only, never network calls.
 */
export async function withTransaction<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Tx);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 3 || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
    }
  }
}
