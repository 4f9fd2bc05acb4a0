import { type Insertable, sql, type Updateable } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type {
  WebhookAttemptTable,
  WebhookEndpointRow,
  WebhookEndpointTable,
  WebhookMessageRow,
  WebhookMessageTable,
} from './webhooks.tables.ts';

// The SQL of webhooks. Every function takes tenantId, except the delivery claim, which crosses
// tenants (run as moa_system by the job) and still names each row's tenant afterwards.

export const insertEndpoint = (db: Db, row: Insertable<WebhookEndpointTable>) =>
  db.insertInto('webhook_endpoint').values(row).returningAll().executeTakeFirstOrThrow();

export function findEndpoint(db: Db, tenantId: string, id: string, options: { forUpdate?: boolean } = {}) {
  let q = db.selectFrom('webhook_endpoint').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export const listEndpoints = (db: Db, tenantId: string) =>
  db.selectFrom('webhook_endpoint').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute();

export const updateEndpoint = (db: Db, tenantId: string, id: string, set: Updateable<WebhookEndpointTable>) =>
  db
    .updateTable('webhook_endpoint')
    .set({ ...set, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();

export async function deleteEndpoint(db: Db, tenantId: string, id: string): Promise<boolean> {
  await db.deleteFrom('webhook_attempt').where('tenant_id', '=', tenantId).where('endpoint_id', '=', id).execute();
  const r = await db.deleteFrom('webhook_endpoint').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Retention, across tenants (the job): finished messages and attempts older than `before`. */
export async function purgeFinished(db: Db, before: Date, limit: number): Promise<number> {
  const attempts = await sql`delete from webhook_attempt where ctid in (
    select ctid from webhook_attempt where attempted_at < ${before} limit ${limit})`.execute(db);
  const messages = await sql`delete from webhook_message where ctid in (
    select ctid from webhook_message where status <> 'pending' and created_at < ${before} limit ${limit})`.execute(db);
  return Number(attempts.numAffectedRows ?? 0) + Number(messages.numAffectedRows ?? 0);
}

/**
 * The messages of one outbox event, one per enabled endpoint subscribed to its type (or the one
 * endpoint named), in one statement; the event's time is its outbox row's. A repeat adds nothing.
 */
export async function fanOutEvent(
  db: Db,
  e: { tenantId: string; outboxId: number; type: string; version: number; orderKey: string; now: Date; onlyEndpoint?: string },
): Promise<void> {
  const filter =
    e.onlyEndpoint === undefined
      ? sql`(ep.event_types is null or ${e.type} = any(ep.event_types))`
      : sql`ep.id = ${e.onlyEndpoint}`;
  await sql`
    insert into webhook_message (tenant_id, endpoint_id, event_seq, type, version, data, order_key, occurred_at, next_attempt_at)
    select ep.tenant_id, ep.id, o.id, ${e.type}, ${e.version}, o.payload, ${e.orderKey}, o.created_at, ${e.now}
    from webhook_endpoint ep
    join outbox o on o.tenant_id = ep.tenant_id and o.id = ${e.outboxId}
    where ep.tenant_id = ${e.tenantId} and ep.status = 'enabled' and ${filter}
    on conflict (tenant_id, endpoint_id, event_seq) do nothing`.execute(db);
}

export type ClaimedMessage = WebhookMessageRow & {
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_until: Date | null;
};

/**
 * Claims due messages across tenants, each the head of its (endpoint, member) queue: no earlier
 * message of that queue is still pending, and no earlier outbox event of the tenant still waits to
 * be turned into messages (so a later event cannot overtake an earlier one being fanned out).
 * Claimed rows are leased: next_attempt_at moves past the attempt's timeout. Two workers racing for
 * a row: the second finds it re-leased once it gets the lock, and leaves it.
 */
export async function claimDue(
  db: Db,
  input: { now: Date; limit: number; leaseMs: number; topics: readonly string[]; fanoutHandler: string },
): Promise<ClaimedMessage[]> {
  const { rows } = await sql<ClaimedMessage>`
    with waiting as (
      select tenant_id, min(id) as first_id from outbox
      where status = 'pending' and topic = any(${input.topics}) and not (${input.fanoutHandler} = any(handlers_done))
      group by tenant_id
    ),
    -- The head of every (endpoint, member) queue, in one ordered pass over the pending rows
    -- (webhook_message_queue); each is then claimed by its ctid, re-checked once locked.
    heads as (
      select distinct on (tenant_id, endpoint_id, order_key) ctid as row_id, tenant_id, endpoint_id, event_seq, next_attempt_at
      from webhook_message
      where status = 'pending'
      order by tenant_id, endpoint_id, order_key, event_seq
    ),
    due as (
      select h.row_id from heads h
      join webhook_endpoint e on e.tenant_id = h.tenant_id and e.id = h.endpoint_id and e.status = 'enabled'
      left join waiting w on w.tenant_id = h.tenant_id
      where h.next_attempt_at <= ${input.now} and (w.first_id is null or h.event_seq < w.first_id)
      order by h.next_attempt_at
      limit ${input.limit}
    )
    update webhook_message w
    set next_attempt_at = ${new Date(input.now.getTime() + input.leaseMs)}, attempts = w.attempts + 1
    from due, webhook_endpoint e
    where w.ctid = due.row_id and w.status = 'pending' and w.next_attempt_at <= ${input.now}
      and e.tenant_id = w.tenant_id and e.id = w.endpoint_id
    returning w.*, e.url, e.secret_sealed, e.previous_secret_sealed, e.previous_until`.execute(db);
  return rows.map((r) => ({ ...r, event_seq: Number(r.event_seq) }));
}

export async function finishMessage(
  db: Db,
  tenantId: string,
  endpointId: string,
  eventSeq: number,
  set: Updateable<WebhookMessageTable>,
): Promise<void> {
  await db
    .updateTable('webhook_message')
    .set(set)
    .where('tenant_id', '=', tenantId)
    .where('endpoint_id', '=', endpointId)
    .where('event_seq', '=', eventSeq)
    .execute();
}

export async function insertAttempts(db: Db, rows: Insertable<WebhookAttemptTable>[]): Promise<void> {
  if (rows.length) await db.insertInto('webhook_attempt').values(rows).execute();
}

type MessageKey = { tenant_id: string; endpoint_id: string; event_seq: number };

/** A batch's successes, in one statement. */
export async function markDelivered(db: Db, keys: MessageKey[], at: Date): Promise<void> {
  if (keys.length === 0) return;
  await sql`update webhook_message set status = 'delivered', delivered_at = ${at}
    where (tenant_id, endpoint_id, event_seq) in (${sql.join(keys.map((k) => sql`(${k.tenant_id}, ${k.endpoint_id}, ${k.event_seq}::bigint)`))})`.execute(
    db,
  );
}

/** After a success: the endpoint is healthy again (a no-op for one that was). */
export async function endpointsSucceeded(db: Db, keys: MessageKey[]): Promise<void> {
  const pairs = [...new Map(keys.map((k) => [`${k.tenant_id} ${k.endpoint_id}`, k])).values()];
  if (pairs.length === 0) return;
  await sql`update webhook_endpoint set failing_since = null, consecutive_failures = 0
    where consecutive_failures > 0
      and (tenant_id, id) in (${sql.join(pairs.map((k) => sql`(${k.tenant_id}, ${k.endpoint_id})`))})`.execute(db);
}

/** After a failure: counted, and the start of the failing streak kept; returns the endpoint. */
export const endpointFailed = (db: Db, tenantId: string, id: string, now: Date) =>
  db
    .updateTable('webhook_endpoint')
    .set((eb) => ({
      failing_since: eb.fn.coalesce('failing_since', sql<Date>`${now}::timestamptz`),
      consecutive_failures: eb('consecutive_failures', '+', 1),
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst() as Promise<WebhookEndpointRow | undefined>;

export const listAttempts = (db: Db, tenantId: string, endpointId: string, limit: number, before?: number) => {
  let q = db
    .selectFrom('webhook_attempt as a')
    .innerJoin('webhook_message as m', (j) =>
      j
        .onRef('m.tenant_id', '=', 'a.tenant_id')
        .onRef('m.endpoint_id', '=', 'a.endpoint_id')
        .onRef('m.event_seq', '=', 'a.event_seq'),
    )
    .select([
      'a.id',
      'a.event_seq',
      'a.attempt',
      'a.attempted_at',
      'a.response_status',
      'a.error',
      'a.latency_ms',
      'a.response_excerpt',
      'm.type',
      'm.status as message_status',
    ])
    .where('a.tenant_id', '=', tenantId)
    .where('a.endpoint_id', '=', endpointId);
  if (before !== undefined) q = q.where('a.id', '<', before);
  return q.orderBy('a.id', 'desc').limit(limit).execute();
};

/** Puts messages back in the queue, due now, with a fresh set of attempts. */
export async function replay(
  db: Db,
  tenantId: string,
  endpointId: string,
  now: Date,
  which: { eventSeq: number } | { since: Date; until: Date; failedOnly: boolean },
): Promise<number> {
  let q = db
    .updateTable('webhook_message')
    .set({ status: 'pending', attempts: 0, next_attempt_at: now, delivered_at: null })
    .where('tenant_id', '=', tenantId)
    .where('endpoint_id', '=', endpointId);
  if ('eventSeq' in which) q = q.where('event_seq', '=', which.eventSeq);
  else {
    q = q.where('occurred_at', '>=', which.since).where('occurred_at', '<', which.until);
    q = which.failedOnly ? q.where('status', '=', 'failed') : q.where('status', '<>', 'pending');
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}
