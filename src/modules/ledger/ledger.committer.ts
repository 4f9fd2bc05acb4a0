import type { Db } from '../../platform/db.ts';
import { asSystem, currentTenant } from '../../platform/db-context.ts';
import { type BatchItem, type BatchResult, postBatch } from './ledger.repository.ts';

// Group commit: concurrent post() calls are gathered and sent to the database as one batch: one
// round trip, one commit, one WAL flush for all of them. Each transaction in the batch still succeeds
// or fails on its own. With nothing in flight a post goes out at once (after the current tick, so a
// synchronous burst travels together); while a batch is in the database the next one fills, so
// batches grow with load and latency stays about one round trip. maxWaitMs > 0 trades latency for
// bigger batches at low load. The row locks are taken inside ledger_post in one global order, so batches of several
// processes never deadlock.
// A batch mixes tenants, so it is sent as moa_system (db-context.ts); each item names its tenant, and
// an item submitted under a tenant's context must be that tenant's. Inside a caller's transaction
// (db is a Tx) the batch runs under the transaction's own tenant and row-level security.

export type CommitterOptions = { maxBatch?: number; maxWaitMs?: number; concurrency?: number };

type Waiting = { item: BatchItem; resolve: (r: BatchResult) => void; reject: (e: unknown) => void };

export type Committer = {
  submit(item: BatchItem): Promise<BatchResult>;
  /** Sends what is waiting and resolves when every batch in flight has finished. */
  drain(): Promise<void>;
  stats(): { batches: number; items: number };
};

export function createCommitter(db: Db, options: CommitterOptions = {}): Committer {
  const maxBatch = options.maxBatch ?? 1000;
  const maxWaitMs = options.maxWaitMs ?? 0;
  const concurrency = options.concurrency ?? 1;
  let queue: Waiting[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let inFlight = 0;
  const running = new Set<Promise<void>>();
  let batches = 0;
  let items = 0;

  function flush(): void {
    if (timer) {
      if (maxWaitMs > 0) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
      timer = undefined;
    }
    while (queue.length > 0 && inFlight < concurrency) {
      const taken = queue.slice(0, maxBatch);
      queue = queue.slice(taken.length);
      inFlight++;
      batches++;
      items += taken.length;
      const run = send(taken).finally(() => {
        inFlight--;
        running.delete(run);
        // What arrived meanwhile goes out at once: it has already waited for a round trip.
        if (queue.length > 0) flush();
      });
      running.add(run);
    }
  }

  async function send(taken: Waiting[]): Promise<void> {
    try {
      const results = await asSystem(() =>
        postBatch(
          db,
          taken.map((w) => w.item),
        ),
      );
      taken.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      // The whole batch rolled back: nothing of it happened, and a retry with the same ids is safe.
      for (const w of taken) w.reject(err);
    }
  }

  return {
    submit(item) {
      const tenant = currentTenant();
      if (tenant !== undefined && item.t !== tenant) {
        return Promise.reject(new Error(`a ledger transaction of tenant ${item.t} was submitted for tenant ${tenant}`));
      }
      return new Promise<BatchResult>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (queue.length >= maxBatch) flush();
        else if (!timer && inFlight < concurrency) timer = maxWaitMs > 0 ? setTimeout(flush, maxWaitMs) : setImmediate(flush);
      });
    },
    async drain() {
      flush();
      while (running.size > 0) await Promise.all(running);
    },
    stats: () => ({ batches, items }),
  };
}
