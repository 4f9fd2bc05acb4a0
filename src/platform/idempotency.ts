import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { type Db, withTransaction } from './db.ts';
import { AppError, fromDatabaseError, isAppError, toProblem } from './errors.ts';
import { type Pii, piiFor } from './pii.ts';
import { PLATFORM_SCOPE } from './request-context.ts';

// Idempotency-Key for every write an app or POS makes. The record (request hash + the exact
// response bytes) is written in the same transaction as the write itself, so either both exist
// or neither does. Same key + same request → the stored response, no second effect; same key +
// another request → 422; the same key while the first is still running → 409 (PostgreSQL; on the
// embedded database transactions run one at a time, so the duplicate simply waits and replays).
// Business rejections (4xx) are stored too: a retry gets the same answer, not a second attempt.
// A route whose response carries a secret (coupon PINs, an API key) declares `secret: true`: its
// record keeps the response sealed under the master key (platform/pii.ts), never in plaintext, and
// a replay opens it, so a client that lost the first answer still gets the secret it was issued.

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export type IdempotencyDeps = { db: Db; config: { idempotencyTtlHours: number }; masterKey?: Buffer };
export type IdempotentOptions = {
  status?: number;
  /** The response carries a secret: the stored copy is sealed, never plaintext. */
  secret?: boolean;
};

// A sealed record reads `v1.<key id>.…` (pii.ts); a JSON body never starts with a letter v.
const isSealed = (body: string) => body.startsWith('v1.');

type Outcome = { status: number; body: string; problem: boolean; replayed: boolean };

/** JSON with object keys sorted, so the same body always hashes the same. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method}\n${url}\n${stableStringify(body ?? null)}`)
    .digest('hex');
}

function readKey(req: FastifyRequest): string | undefined {
  const raw = req.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !KEY_FORMAT.test(raw)) {
    throw new AppError('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1-255 printable ASCII characters without spaces.');
  }
  return raw;
}

/**
 * preValidation hook: 400 IDEMPOTENCY_KEY_REQUIRED on a route whose config says
 * `idempotency: 'required'` and a request without the header, before anything else is read. The
 * OpenAPI header is declared from the same config (http-schemas.ts, declareRouteHeaders).
 */
export async function requireIdempotencyKey(req: FastifyRequest): Promise<void> {
  if (req.routeOptions.config.idempotency === 'required' && req.headers[IDEMPOTENCY_HEADER] === undefined) {
    throw new AppError('IDEMPOTENCY_KEY_REQUIRED', 'Send an Idempotency-Key header with this request.');
  }
}

/**
 * Runs a write under the request's Idempotency-Key and sends its response. `fn` receives the
 * transaction to pass to the service as its db (services join it through withTransaction).
 *
 *   config: { scopes: SCOPES.server, idempotency: 'optional' },
 *   handler: (req, reply) => idempotent(deps, req, reply, (db) => updateTenant({ ...deps, db }, …))
 *
 * The route must declare `config.idempotency`: whether the key is required comes from there.
 */
export async function idempotent<T>(
  deps: IdempotencyDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  fn: (db: Db) => Promise<T>,
  options: IdempotentOptions = {},
): Promise<void> {
  return run(deps, req, reply, { outside: async () => undefined, inside: (db) => fn(db) }, options, false);
}

/**
 * A write whose work is "before, outside, after": `outside` runs first with no transaction open
 * (a network call: a payment's approval, an OAuth code exchange; it may run its own short
 * transactions), then `inside` runs in the transaction that stores the response, with what
 * `outside` returned. A live stored response is replayed without running `outside`; a decided
 * rejection (4xx) thrown by `outside` is stored like one thrown inside. `outside` must be safe to
 * run again: a retry after a crash between the two steps runs it again, and so may a duplicate
 * racing this request (the advisory lock covers only the transaction; the duplicate then replays).
 *
 *   idempotentSteps(deps, req, reply, { outside: () => pay(deps, …), inside: (db, paid) => post({ ...deps, db }, …, paid) })
 */
export async function idempotentSteps<P, T>(
  deps: IdempotencyDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  steps: Steps<P, T>,
  options: IdempotentOptions = {},
): Promise<void> {
  return run(deps, req, reply, steps, options, true);
}

type Steps<P, T> = { outside: () => Promise<P>; inside: (db: Db, prepared: P) => Promise<T> };

/** A decided business outcome, worth remembering; undefined for transient states, which are retried. */
function decidedRejection(err: unknown): AppError | undefined {
  const rejection = isAppError(err) ? err : fromDatabaseError(err);
  if (!rejection || rejection.status >= 500 || rejection.details?.retryable || rejection.code === 'IDEMPOTENCY_IN_FLIGHT')
    return undefined;
  return rejection;
}

async function storedOutcome(
  db: Db,
  scope: string,
  key: string,
  hash: string,
  pii: Pii | undefined,
): Promise<Outcome | undefined> {
  const stored = await db
    .selectFrom('idempotency_key')
    .select(['request_hash', 'response_status', 'response_body'])
    .where('tenant_id', '=', scope)
    .where('key', '=', key)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (!stored) return undefined;
  if (stored.request_hash !== hash) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request.', { key });
  }
  const problem = stored.response_status >= 400;
  const body = isSealed(stored.response_body) ? pii!.open<string>(stored.response_body) : stored.response_body;
  return { status: stored.response_status, body, problem, replayed: true };
}

async function run<P, T>(
  deps: IdempotencyDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  steps: Steps<P, T>,
  options: IdempotentOptions,
  hasOutside: boolean,
): Promise<void> {
  const status = options.status ?? 200;
  const mode = req.routeOptions.config.idempotency;
  if (!mode) throw new Error(`${req.method} ${req.routeOptions.url} calls idempotent() without declaring config.idempotency.`);
  const key = readKey(req);
  if (key === undefined) {
    if (mode === 'required') throw new AppError('IDEMPOTENCY_KEY_REQUIRED', 'Send an Idempotency-Key header with this request.');
    const prepared = await steps.outside();
    reply.code(status).send(await steps.inside(deps.db, prepared));
    return;
  }

  const scope = (req.auth?.kind === 'api_key' || req.auth?.kind === 'operator' ? req.auth.tenantId : null) ?? PLATFORM_SCOPE;
  if (options.secret && !deps.masterKey)
    throw new Error('idempotent(…, { secret: true }) needs deps.masterKey to seal the record');
  const pii = deps.masterKey ? piiFor(deps.masterKey) : undefined;
  // A route without a body schema reads no body: what was sent anyway is not part of the request
  // (and an arbitrary one, JSON nested thousands of levels deep, would overflow the hashing).
  const hash = requestHash(req.method, req.url, req.routeOptions.schema?.body ? req.body : undefined);

  let prepared: { value: P } | { rejection: AppError } | undefined;
  if (hasOutside) {
    // A finished request is replayed without calling out again.
    const done = await storedOutcome(deps.db, scope, key, hash, pii);
    if (done) return send(reply, done);
    try {
      prepared = { value: await steps.outside() };
    } catch (err) {
      const rejection = decidedRejection(err);
      if (!rejection) throw err;
      prepared = { rejection };
    }
  }

  const outcome = await withTransaction(deps.db, async (trx): Promise<Outcome> => {
    const lock = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(hashtextextended(${`${scope} ${key}`}, 0)) as locked`.execute(trx);
    if (!lock.rows[0]?.locked) {
      throw new AppError('IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed.', {
        retryAfterSeconds: 1,
      });
    }

    // A duplicate that finished while this one was outside is replayed: its effect stands alone.
    const stored = await storedOutcome(trx, scope, key, hash, pii);
    if (stored) return stored;

    const problemOf = (rejection: AppError): Outcome => ({
      status: rejection.status,
      body: JSON.stringify(toProblem(rejection, req.url, req.id)),
      problem: true,
      replayed: false,
    });
    let result: Outcome;
    if (prepared && 'rejection' in prepared) {
      result = problemOf(prepared.rejection);
    } else {
      await sql`savepoint moa_idempotent`.execute(trx);
      try {
        const value = await steps.inside(trx, prepared ? prepared.value : (undefined as P));
        result = { status, body: String(reply.code(status).serialize(value)), problem: false, replayed: false };
      } catch (err) {
        const rejection = decidedRejection(err);
        if (!rejection) throw err;
        await sql`rollback to savepoint moa_idempotent`.execute(trx);
        result = problemOf(rejection);
      }
    }

    const expires = sql<Date>`now() + make_interval(hours => ${deps.config.idempotencyTtlHours})`;
    const saved = options.secret ? pii!.seal(result.body) : result.body;
    await trx
      .insertInto('idempotency_key')
      .values({
        tenant_id: scope,
        key,
        request_hash: hash,
        response_status: result.status,
        response_body: saved,
        expires_at: expires,
      })
      .onConflict((oc) =>
        // Only an expired record can be here (the live one was found above, under the lock).
        oc.columns(['tenant_id', 'key']).doUpdateSet({
          request_hash: hash,
          response_status: result.status,
          response_body: saved,
          created_at: sql<Date>`now()`,
          expires_at: expires,
        }),
      )
      .execute();
    return result;
  });
  send(reply, outcome);
}

function send(reply: FastifyReply, outcome: Outcome): void {
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  reply
    .code(outcome.status)
    .type(outcome.problem ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8')
    .serializer((payload: unknown) => payload as string)
    .send(outcome.body);
}

/** Deletes expired records in chunks; returns how many were removed. */
export async function purgeExpiredIdempotencyKeys(db: Db, chunk = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await sql`
      delete from idempotency_key where (tenant_id, key) in (
        select tenant_id, key from idempotency_key where expires_at < now() limit ${chunk}
      )`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    total += n;
    if (n < chunk) return total;
  }
}
