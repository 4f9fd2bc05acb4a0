import type { Db } from './db.ts';

// Inside one transaction several modules read the same facts: the tenant, the member's status and
// grade. Each is read once per transaction and kept with the transaction object, so it goes when
// the transaction does and no other request or process ever sees it. Outside a transaction every
// call reads. A module that changes such a fact forgets it (txForget) in the same transaction.

const memos = new WeakMap<object, Map<string, Promise<unknown>>>();

/** `load()` once per transaction and key (a failed load is not kept). */
export function txMemo<T>(db: Db, key: string, load: () => Promise<T>): Promise<T> {
  if (!db.isTransaction) return load();
  let memo = memos.get(db);
  if (!memo) memos.set(db, (memo = new Map()));
  let value = memo.get(key) as Promise<T> | undefined;
  if (!value) {
    const kept = memo;
    value = load();
    kept.set(key, value);
    value.catch(() => kept.delete(key));
  }
  return value;
}

/** Drops what the transaction keeps under `key`, after a write that changes it. */
export function txForget(db: Db, key: string): void {
  memos.get(db)?.delete(key);
}
