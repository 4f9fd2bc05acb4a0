import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from './db.ts';
import { asSystem, withTenant } from './db-context.ts';

// Side effects (messages, webhooks, provider calls) are written as outbox rows in the same
// transaction as the change they report, then delivered by a worker after commit. Delivery is at
// least once: a handler gets the row id as its idempotency key and must tolerate a repeat. Several
// processes may run workers: rows are claimed with FOR UPDATE SKIP LOCKED and leased by moving
// available_at forward, so a worker that dies mid-delivery only delays the row until the lease ends.
// A worker claims only the topics it has handlers for: during a rolling deploy an old process never
// takes (and loses) an event that only the new version handles; an event nobody handles yet waits.
// The claim crosses tenants and runs as moa_system; each row is then delivered, handlers included,
// under its own tenant (db-context.ts), so a handler sees that tenant's rows only.

export type OutboxMessage = {
  tenantId: string;
  /** Unique per tenant; use it as the idempotency key towards the receiver. */
  id: number;
  topic: string;
  payload: unknown;
  attempts: number;
};

export type OutboxHandler = (message: OutboxMessage) => Promise<void>;

/** Records an event in the caller's transaction; it is delivered only if that transaction commits. */
export async function enqueueOutbox(
  db: Db,
  tenantId: string,
  event: { topic: string; payload: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('outbox')
    .values({ tenant_id: tenantId, topic: event.topic, payload: JSON.stringify(event.payload) })
    .execute();
}

export type OutboxWorkerOptions = {
  batchSize?: number;
  maxAttempts?: number;
  /** How long a claimed row is hidden from other workers while its handlers run. */
  leaseMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  pollIntervalMs?: number;
};

export type OutboxWorker = {
  /** Each handler has a name so a retry re-runs only the handlers that failed. */
  register(topic: string, name: string, handler: OutboxHandler): void;
  /** Claims and delivers one batch; returns how many rows it handled. */
  runOnce(): Promise<number>;
  start(): void;
  /** Asks a sleeping worker to poll now (e.g. after a commit that enqueued something). */
  wake(): void;
  stop(): Promise<void>;
};

type ClaimedRow = {
  tenant_id: string;
  id: number;
  topic: string;
  payload: unknown;
  attempts: number;
  handlers_done: string[];
};

/** The longest pause between polls while they keep failing (the database is away). */
const POLL_BACKOFF_MAX_MS = 10_000;

export function createOutboxWorker(deps: { db: Db; log: Logger }, options: OutboxWorkerOptions = {}): OutboxWorker {
  const batchSize = options.batchSize ?? 20;
  const maxAttempts = options.maxAttempts ?? 10;
  const leaseMs = options.leaseMs ?? 60_000;
  const backoffBaseMs = options.backoffBaseMs ?? 1_000;
  const backoffMaxMs = options.backoffMaxMs ?? 3_600_000;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const handlers = new Map<string, { name: string; handler: OutboxHandler }[]>();
  const log = deps.log.child({ component: 'outbox' });

  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;

  async function claim(): Promise<ClaimedRow[]> {
    const topics = [...handlers.keys()];
    if (topics.length === 0) return [];
    const result = await asSystem(() =>
      sql<ClaimedRow>`
      with due as (
        select tenant_id, id from outbox
        where status = 'pending' and topic = any(${topics}) and available_at <= now()
        order by available_at, id
        limit ${batchSize}
        for update skip locked
      )
      update outbox o
      set available_at = now() + make_interval(secs => ${leaseMs / 1000}), attempts = o.attempts + 1
      from due
      where o.tenant_id = due.tenant_id and o.id = due.id
      returning o.tenant_id, o.id, o.topic, o.payload, o.attempts, o.handlers_done`.execute(deps.db),
    );
    return result.rows;
  }

  async function deliver(row: ClaimedRow): Promise<void> {
    const message: OutboxMessage = {
      tenantId: row.tenant_id,
      id: row.id,
      topic: row.topic,
      payload: row.payload,
      attempts: row.attempts,
    };
    const done = [...row.handlers_done];
    let failure: string | undefined;
    for (const { name, handler } of handlers.get(row.topic) ?? []) {
      if (done.includes(name)) continue;
      try {
        await handler(message);
        done.push(name);
      } catch (err) {
        failure = `${name}: ${(err as Error).message ?? String(err)}`.slice(0, 2000);
        log.warn(
          { err, topic: row.topic, outboxId: row.id, tenantId: row.tenant_id, attempt: row.attempts },
          'outbox handler failed',
        );
      }
    }

    const where = (qb: Db) => qb.updateTable('outbox').where('tenant_id', '=', row.tenant_id).where('id', '=', row.id);
    if (failure === undefined) {
      await where(deps.db)
        .set({ status: 'delivered', delivered_at: sql<Date>`now()`, handlers_done: done, last_error: null })
        .execute();
    } else if (row.attempts >= maxAttempts) {
      log.error({ topic: row.topic, outboxId: row.id, tenantId: row.tenant_id, failure }, 'outbox message dead-lettered');
      await where(deps.db).set({ status: 'dead', handlers_done: done, last_error: failure }).execute();
    } else {
      const delay = Math.min(backoffBaseMs * 2 ** (row.attempts - 1), backoffMaxMs) * (0.5 + Math.random() / 2);
      await where(deps.db)
        .set({
          available_at: sql<Date>`now() + make_interval(secs => ${delay / 1000})`,
          handlers_done: done,
          last_error: failure,
        })
        .execute();
    }
  }

  async function runOnce(): Promise<number> {
    const rows = await claim();
    await Promise.all(rows.map((row) => withTenant(row.tenant_id, () => deliver(row))));
    return rows.length;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  return {
    register(topic, name, handler) {
      const list = handlers.get(topic) ?? [];
      if (list.some((h) => h.name === name)) throw new Error(`outbox handler ${name} already registered for ${topic}`);
      handlers.set(topic, [...list, { name, handler }]);
    },
    runOnce,
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        let failures = 0;
        while (running) {
          let handled = 0;
          let pause = pollIntervalMs;
          try {
            handled = await runOnce();
            failures = 0;
          } catch (err) {
            // Typically the database is away: wait longer after each failed poll instead of
            // spinning, and poll at the normal pace again once one succeeds.
            failures++;
            pause = Math.min(pollIntervalMs * 2 ** failures, Math.max(pollIntervalMs, POLL_BACKOFF_MAX_MS));
            log.error({ err, failures, retryInMs: pause }, 'outbox poll failed');
          }
          if (handled === 0 && running) await sleep(pause);
        }
      })();
    },
    wake: () => wakeUp?.(),
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
    },
  };
}
