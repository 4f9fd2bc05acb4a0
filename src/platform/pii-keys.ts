import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { type Db, withTransaction } from './db.ts';
import { type PiiDomain, piiFor, unwrapKey, wrapKey } from './pii.ts';

// Key rotation for personal data. `moa keys rotate` adds a random data key (stored wrapped by the
// master key), makes it current, and re-seals every sealed column under it. Old keys stay to open
// what was sealed before. Serving processes reload the keys every minute (the `pii.keys` job), so
// for a minute one may still seal under the previous key: rotating re-seals only what is not under
// the current key, so running it again after a minute catches those.

export const PII_DOMAINS: readonly PiiDomain[] = ['pii', 'dormant'];

/** A column holding sealed values, named by the module that owns it. */
export type SealedColumn = { table: string; keys: readonly string[]; column: string; domain: PiiDomain };

/** Installs the stored keys and the current one of each domain into this process. */
export async function loadPiiKeys(db: Db, masterKey: Buffer): Promise<void> {
  const keys = await db.selectFrom('pii_key').select(['domain', 'id', 'wrapped']).execute();
  const current = await db.selectFrom('pii_key_current').select(['domain', 'id']).execute();
  for (const domain of PII_DOMAINS) {
    const pii = piiFor(masterKey, domain);
    const mine = new Map(keys.filter((k) => k.domain === domain).map((k) => [k.id, unwrapKey(masterKey, k.wrapped)]));
    pii.install(mine, current.find((c) => c.domain === domain)?.id ?? pii.currentKeyId);
  }
}

/** Adds a new data key to a domain and makes it current; returns its id. */
export async function rotatePiiKey(db: Db, masterKey: Buffer, domain: PiiDomain): Promise<string> {
  const id = await withTransaction(db, async (trx) => {
    // Serialize rotations of a domain across processes.
    await sql`select pg_advisory_xact_lock(hashtextextended(${`pii_key ${domain}`}, 0))`.execute(trx);
    const rows = await trx.selectFrom('pii_key').select('id').where('domain', '=', domain).execute();
    const next = `k${Math.max(1, ...rows.map((r) => Number(r.id.slice(1)))) + 1}`;
    await trx
      .insertInto('pii_key')
      .values({ domain, id: next, wrapped: wrapKey(masterKey, randomBytes(32)) })
      .execute();
    await trx
      .insertInto('pii_key_current')
      .values({ domain, id: next })
      .onConflict((oc) => oc.column('domain').doUpdateSet({ id: next }))
      .execute();
    return next;
  });
  await loadPiiKeys(db, masterKey);
  return id;
}

/** Re-seals, in chunks, every value of the columns not sealed under its domain's current key. */
export async function resealColumns(
  db: Db,
  masterKey: Buffer,
  columns: readonly SealedColumn[],
  chunk = 500,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const c of columns) {
    const pii = piiFor(masterKey, c.domain);
    const prefix = `v1.${pii.currentKeyId}.`;
    let n = 0;
    for (;;) {
      const rows = await sql<Record<string, string>>`
        select ${sql.join(c.keys.map((k) => sql.ref(k)))}, ${sql.ref(c.column)} as sealed
        from ${sql.table(c.table)}
        where ${sql.ref(c.column)} is not null and left(${sql.ref(c.column)}, ${prefix.length}) <> ${prefix}
        limit ${chunk}`.execute(db);
      if (rows.rows.length === 0) break;
      await withTransaction(db, async (trx) => {
        for (const r of rows.rows) {
          const where = sql.join(
            c.keys.map((k) => sql`${sql.ref(k)} = ${r[k]}`),
            sql` and `,
          );
          // Only if unchanged meanwhile: a concurrent write already sealed it afresh.
          await sql`update ${sql.table(c.table)} set ${sql.ref(c.column)} = ${pii.seal(pii.open(r.sealed!))}
            where ${where} and ${sql.ref(c.column)} = ${r.sealed}`.execute(trx);
        }
      });
      n += rows.rows.length;
    }
    counts[`${c.table}.${c.column}`] = n;
  }
  return counts;
}
