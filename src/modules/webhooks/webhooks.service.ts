import { type Db, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { enqueueEvent, WEBHOOK_EVENTS, webhookEventOf } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { OutboxMessage } from '../../platform/outbox.ts';
import { piiFor } from '../../platform/pii.ts';
import { createWebhookClient, type Delivery, refusedAddress, type WebhookClient } from './webhooks.client.ts';
import * as repo from './webhooks.repository.ts';
import { MAX_ATTEMPTS, messageId, newSecret, retryDelayMs, signatureHeader, urlProblem } from './webhooks.rules.ts';
import type {
  TAttempt,
  TCreateEndpoint,
  TEndpoint,
  TEndpointWithSecret,
  TReplayRequest,
  TUpdateEndpoint,
} from './webhooks.schemas.ts';
import type { WebhookEndpointRow } from './webhooks.tables.ts';

type WebhookDeps = Pick<Deps, 'db' | 'config' | 'clock' | 'masterKey' | 'log'>;

/** The previous secret keeps signing this long after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
/** The outbox handler that turns events into messages (named in the delivery claim). */
export const FANOUT_HANDLER = 'webhooks.fanout';

const notFound = (id: string) => new AppError('NOT_FOUND', `No webhook endpoint ${id}.`);

function toEndpoint(row: WebhookEndpointRow, now: Date): TEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    status: row.status,
    disabledReason: row.disabled_reason,
    failingSince: row.failing_since?.toISOString() ?? null,
    secretRotatedUntil: row.previous_until && row.previous_until > now ? row.previous_until.toISOString() : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Checks a URL before it is stored: the scheme, then (unless MOA_WEBHOOK_ALLOW_PRIVATE) every
 * address its host resolves to. A network call: run it outside any transaction.
 */
export async function checkUrl(deps: Pick<Deps, 'config'>, url: string): Promise<void> {
  const allowPrivate = deps.config.webhooks.allowPrivate;
  const problem = urlProblem(url, allowPrivate);
  const refuse = (message: string, details?: Record<string, unknown>) =>
    new AppError('WEBHOOK_URL_NOT_ALLOWED', `url: ${message}`, details, [{ field: 'url', message, code: 'not_allowed' }]);
  if (problem) throw refuse(problem);
  if (allowPrivate) return;
  let refused: Awaited<ReturnType<typeof refusedAddress>>;
  try {
    refused = await refusedAddress(url);
  } catch (err) {
    throw refuse(`the host does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
  }
  if (refused) throw refuse(`${refused.host} resolves to ${refused.address}, which is not a public address`, refused);
}

export async function createEndpoint(deps: WebhookDeps, tenantId: string, input: TCreateEndpoint): Promise<TEndpointWithSecret> {
  const secret = newSecret();
  const row = await repo.insertEndpoint(deps.db, {
    tenant_id: tenantId,
    id: newId('whe'),
    url: input.url,
    description: input.description,
    event_types: input.eventTypes ?? null,
    secret_sealed: piiFor(deps.masterKey).seal(secret),
    previous_secret_sealed: null,
    previous_until: null,
    disabled_reason: null,
    failing_since: null,
  });
  return { ...toEndpoint(row, deps.clock.now()), secret };
}

export async function listEndpoints(deps: Pick<Deps, 'db' | 'clock'>, tenantId: string): Promise<{ items: TEndpoint[] }> {
  const now = deps.clock.now();
  return { items: (await repo.listEndpoints(deps.db, tenantId)).map((r) => toEndpoint(r, now)) };
}

export async function getEndpoint(deps: Pick<Deps, 'db' | 'clock'>, tenantId: string, id: string): Promise<TEndpoint> {
  const row = await repo.findEndpoint(deps.db, tenantId, id);
  if (!row) throw notFound(id);
  return toEndpoint(row, deps.clock.now());
}

export async function updateEndpoint(
  deps: WebhookDeps,
  tenantId: string,
  id: string,
  input: TUpdateEndpoint,
): Promise<TEndpoint> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.updateEndpoint(trx, tenantId, id, {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.eventTypes !== undefined ? { event_types: input.eventTypes } : {}),
    });
    if (!row) throw notFound(id);
    return toEndpoint(row, deps.clock.now());
  });
}

/** Enabling starts a fresh failure count and sends what queued up meanwhile, in order. */
export async function setEndpointStatus(
  deps: WebhookDeps,
  tenantId: string,
  id: string,
  status: 'enabled' | 'disabled',
): Promise<TEndpoint> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.updateEndpoint(
      trx,
      tenantId,
      id,
      status === 'enabled'
        ? { status, disabled_reason: null, failing_since: null, consecutive_failures: 0 }
        : { status, disabled_reason: 'disabled through the API' },
    );
    if (!row) throw notFound(id);
    return toEndpoint(row, deps.clock.now());
  });
}

export async function deleteEndpoint(deps: Pick<Deps, 'db'>, tenantId: string, id: string): Promise<void> {
  await withTransaction(deps.db, async (trx) => {
    if (!(await repo.deleteEndpoint(trx, tenantId, id))) throw notFound(id);
  });
}

/** Finished messages and attempts are kept this long (then the `webhooks.purge` job removes them). */
export const RETENTION_DAYS = 30;

/** The retention job: in chunks, across tenants. */
export async function purgeWebhookHistory(deps: Pick<Deps, 'db' | 'clock'>, chunk = 5_000): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - RETENTION_DAYS * 86_400_000);
  let total = 0;
  for (;;) {
    const n = await repo.purgeFinished(deps.db, before, chunk);
    total += n;
    if (n === 0) return total;
  }
}

/** A new secret; the old one keeps signing (a second signature) for 24 hours. */
export async function rotateSecret(deps: WebhookDeps, tenantId: string, id: string): Promise<TEndpointWithSecret> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.findEndpoint(trx, tenantId, id, { forUpdate: true });
    if (!row) throw notFound(id);
    const secret = newSecret();
    const now = deps.clock.now();
    const updated = await repo.updateEndpoint(trx, tenantId, id, {
      secret_sealed: piiFor(deps.masterKey).seal(secret),
      previous_secret_sealed: row.secret_sealed,
      previous_until: new Date(now.getTime() + ROTATION_OVERLAP_MS),
    });
    return { ...toEndpoint(updated!, now), secret };
  });
}

export async function listAttempts(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  id: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ items: TAttempt[]; nextCursor: string | null }> {
  if (!(await repo.findEndpoint(deps.db, tenantId, id))) throw notFound(id);
  const before = query.cursor === undefined ? undefined : Number(query.cursor);
  const rows = await repo.listAttempts(deps.db, tenantId, id, query.limit, before);
  return {
    items: rows.map((r) => ({
      webhookId: messageId(r.event_seq),
      type: r.type,
      attempt: r.attempt,
      attemptedAt: r.attempted_at.toISOString(),
      responseStatus: r.response_status,
      error: r.error,
      latencyMs: r.latency_ms,
      responseExcerpt: r.response_excerpt,
      messageStatus: r.message_status,
    })),
    nextCursor: rows.length === query.limit ? String(rows.at(-1)!.id) : null,
  };
}

/** Sends one message again (same webhook-id), or every message of a time range. */
export async function replay(
  deps: WebhookDeps,
  tenantId: string,
  id: string,
  input: TReplayRequest,
): Promise<{ replayed: number }> {
  return withTransaction(deps.db, async (trx) => {
    if (!(await repo.findEndpoint(trx, tenantId, id))) throw notFound(id);
    const now = deps.clock.now();
    if ('webhookId' in input) {
      const n = await repo.replay(trx, tenantId, id, now, { eventSeq: Number(input.webhookId.slice(4)) });
      if (n === 0) throw new AppError('NOT_FOUND', `No message ${input.webhookId} for endpoint ${id}.`);
      return { replayed: n };
    }
    const since = new Date(input.since);
    const until = input.until ? new Date(input.until) : now;
    if (until <= since)
      throw new AppError('VALIDATION_FAILED', 'until must be after since.', undefined, [
        { field: 'until', message: 'must be after since', code: 'invalid' },
      ]);
    return { replayed: await repo.replay(trx, tenantId, id, now, { since, until, failedOnly: input.failedOnly }) };
  });
}

/** Queues a `webhook.test` event for one endpoint, through the outbox like any other. */
export async function sendTestEvent(deps: WebhookDeps, tenantId: string, id: string): Promise<{ queued: true }> {
  return withTransaction(deps.db, async (trx) => {
    if (!(await repo.findEndpoint(trx, tenantId, id))) throw notFound(id);
    await enqueueEvent(trx, tenantId, { topic: 'webhook.test', payload: { endpointId: id, message: 'A test event from Moa.' } });
    return { queued: true as const };
  });
}

export function eventTypes() {
  return { items: WEBHOOK_EVENTS.map((e) => ({ type: e.type, version: e.spec.version, summary: e.spec.summary })) };
}

// ---- fan-out: outbox event → one message per subscribed endpoint

/**
 * The outbox handler: makes the messages of an event for the endpoints subscribed to its type (a
 * test event: the one endpoint it names), in one statement; a repeat of the event adds nothing.
 */
export async function fanOut(deps: Pick<Deps, 'db' | 'clock'>, m: OutboxMessage): Promise<void> {
  const event = webhookEventOf(m.topic);
  if (!event) return;
  const data = m.payload as Record<string, unknown>;
  const member = event.spec.memberField ? data[event.spec.memberField] : undefined;
  await repo.fanOutEvent(deps.db, {
    tenantId: m.tenantId,
    outboxId: m.id,
    type: event.type,
    version: event.spec.version,
    // Events of no member are not ordered: each gets a queue of its own.
    orderKey: typeof member === 'string' ? `member:${member}` : `event:${m.id}`,
    now: deps.clock.now(),
    ...(m.topic === 'webhook.test' ? { onlyEndpoint: String(data.endpointId) } : {}),
  });
}

/** Every public event is fanned out to the endpoints by one outbox handler. */
export function registerWebhookHandlers(deps: Pick<Deps, 'db' | 'clock' | 'outbox'>): void {
  for (const e of WEBHOOK_EVENTS) deps.outbox.register(e.topic, FANOUT_HANDLER, (m) => fanOut(deps, m));
}

// ---- delivery

const clients = new WeakMap<object, WebhookClient>();
function clientFor(deps: Pick<Deps, 'config'>): WebhookClient {
  let c = clients.get(deps.config);
  if (!c) clients.set(deps.config, (c = createWebhookClient(deps.config.webhooks)));
  return c;
}

const WEBHOOK_TOPICS = WEBHOOK_EVENTS.map((e) => e.topic);

/**
 * Claims due messages (heads of their member queues) and delivers them, no transaction open
 * during the HTTP calls; then records every outcome of the batch in one transaction. Returns how
 * many were attempted. Run by the `webhooks.deliver` job (as moa_system, naming each row's tenant);
 * tests and the benchmark call it directly.
 */
export async function deliverDue(deps: WebhookDeps, options: { limit?: number } = {}): Promise<number> {
  const now = deps.clock.now();
  const claimed = await repo.claimDue(deps.db, {
    now,
    limit: options.limit ?? 50,
    leaseMs: deps.config.webhooks.timeoutMs + 30_000,
    topics: WEBHOOK_TOPICS,
    fanoutHandler: FANOUT_HANDLER,
  });
  if (claimed.length === 0) return 0;
  const results = await Promise.all(claimed.map((m) => send(deps, m, now)));
  const after = deps.clock.now();
  await withTransaction(deps.db, async (trx) => {
    await repo.insertAttempts(
      trx,
      claimed.map((m, i) => ({
        tenant_id: m.tenant_id,
        endpoint_id: m.endpoint_id,
        event_seq: m.event_seq,
        attempt: m.attempts,
        attempted_at: now,
        response_status: results[i]!.status,
        error: results[i]!.error,
        latency_ms: results[i]!.latencyMs,
        response_excerpt: results[i]!.excerpt,
      })),
    );
    const ok = claimed.filter((_, i) => succeeded(results[i]!));
    await repo.markDelivered(trx, ok, after);
    await repo.endpointsSucceeded(trx, ok);
    for (const [i, m] of claimed.entries()) if (!succeeded(results[i]!)) await failed(deps, trx, m, results[i]!, now, after);
  });
  return claimed.length;
}

const succeeded = (r: Delivery) => r.status !== null && r.status >= 200 && r.status < 300;

/** One attempt: signed with every live secret, posted to the checked address. */
async function send(deps: WebhookDeps, m: repo.ClaimedMessage, now: Date): Promise<Delivery> {
  const pii = piiFor(deps.masterKey);
  const id = messageId(m.event_seq);
  const timestamp = Math.floor(now.getTime() / 1000);
  const body = JSON.stringify({ type: m.type, version: m.version, timestamp: m.occurred_at.toISOString(), data: m.data });
  const secrets = [pii.open<string>(m.secret_sealed)];
  if (m.previous_secret_sealed && m.previous_until && m.previous_until > now)
    secrets.push(pii.open<string>(m.previous_secret_sealed));
  const result = await clientFor(deps).post(
    m.url,
    {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, id, timestamp, body),
    },
    body,
  );
  if (result.error?.includes('not a public address'))
    deps.log.warn({ tenantId: m.tenant_id, endpointId: m.endpoint_id, error: result.error }, 'webhook delivery refused');
  return result;
}

/** A failed attempt: the next one on the schedule (or given up), and the endpoint's failing streak. */
async function failed(
  deps: WebhookDeps,
  trx: Db,
  m: repo.ClaimedMessage,
  result: Delivery,
  now: Date,
  after: Date,
): Promise<void> {
  const delay = retryDelayMs(m.attempts, result.retryAfterS);
  await repo.finishMessage(
    trx,
    m.tenant_id,
    m.endpoint_id,
    m.event_seq,
    delay === null || m.attempts >= MAX_ATTEMPTS ? { status: 'failed' } : { next_attempt_at: new Date(after.getTime() + delay) },
  );
  const endpoint = await repo.endpointFailed(trx, m.tenant_id, m.endpoint_id, now);
  if (endpoint?.status !== 'enabled') return;
  // 410 Gone: the receiver says the endpoint is no more. Otherwise, failing continuously for
  // MOA_WEBHOOK_DISABLE_AFTER_HOURS (120 h, Svix's 5 days) with at least two failures.
  const failingMs = after.getTime() - (endpoint.failing_since ?? now).getTime();
  const hours = deps.config.webhooks.disableAfterHours;
  const reason =
    result.status === 410
      ? 'the receiver answered 410 Gone'
      : failingMs >= hours * 3_600_000 && endpoint.consecutive_failures >= 2
        ? `every attempt failed for ${hours} hours`
        : null;
  if (!reason) return;
  await repo.updateEndpoint(trx, m.tenant_id, m.endpoint_id, { status: 'disabled', disabled_reason: reason });
  await enqueueEvent(trx, m.tenant_id, {
    topic: 'webhook_endpoint.disabled',
    payload: { endpointId: m.endpoint_id, url: m.url, reason },
  });
  deps.log.warn({ tenantId: m.tenant_id, endpointId: m.endpoint_id, reason }, 'webhook endpoint disabled');
}

/** The job: batches while there is a full one due, for at most 5 s (then the next run goes on). */
export async function runWebhookDeliveries(deps: WebhookDeps, batch = 100): Promise<number> {
  const started = Date.now();
  let total = 0;
  for (;;) {
    const n = await deliverDue(deps, { limit: batch });
    total += n;
    if (n < batch || Date.now() - started > 5_000) return total;
  }
}
