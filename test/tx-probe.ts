import { type Db, type Tx, withTransaction } from '../src/platform/db.ts';

// Proves that no transaction of this process is open (rule 2: no network call inside a
// transaction). A fake provider calls it from inside its network call: `check` takes the row locks
// the caller's transaction would hold (FOR UPDATE NOWAIT) in a transaction of its own. On
// PostgreSQL a row locked by an open transaction fails at once (55P03); on PGlite, one connection
// behind a mutex, the probe cannot even start while a transaction is open, so it would wait for
// ever (the transaction waits for the provider): a guard of a few seconds turns that deadlock into
// an answer. The guard is not a timing assertion: a free database answers at once.
const DEADLOCK_GUARD_MS = 3_000;

export async function noTransactionOpen(db: Db, check: (trx: Tx) => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'blocked'>((resolve) => {
    timer = setTimeout(() => resolve('blocked'), DEADLOCK_GUARD_MS);
  });
  const probe = withTransaction(db, async (trx) => {
    await check(trx);
    return 'free' as const;
  }).catch((err: { code?: string }) => {
    if (err.code === '55P03') return 'locked' as const;
    throw err;
  });
  try {
    return (await Promise.race([probe, guard])) === 'free';
  } finally {
    clearTimeout(timer);
  }
}
