import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Db } from './db.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { piiFor } from './pii.ts';

// Counted limits on secret checks (ARCHITECTURE.md "Counted limits"). Each decision is one
// conditional statement in the database, taken before the secret is checked, so parallel requests
// and several processes on one database never get more checks than the limit:
// - attempts (`secret_attempt`): claimed per secret (a login ID, a card number); the claim that
//   reaches the limit locks it; a right secret resets the count;
// - fixed-window rate counters (`rate_limit_window`): per client IP and per credential on every
//   secret check, and the stamp OTP's wrong-code allowances.
// The per-API-key request limit (apiRateLimit) is in memory, per process: it sheds load and is not
// a security boundary.

/** A lock that lasts until the brand unlocks it (a physical card after too many wrong PINs). */
export const LOCKED_UNTIL_UNLOCKED = new Date('9999-12-31T00:00:00Z');

export type AttemptRule = { max: number; lockoutMs: number | null };
export type Claim = { locked: false; claimed: number } | { locked: true; until: Date; retryAfterSeconds: number };

const secondsUntil = (until: Date, now: Date) => Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));

/**
 * Claims one attempt at a secret before it is checked. Refused (locked) while a lock stands; the
 * claim that reaches `max` sets the lock (lockoutMs, or until unlocked when null) and may still be
 * checked. A lock that has run out starts the count again.
 */
export async function claimAttempt(
  db: Db,
  tenantId: string,
  kind: string,
  subject: string,
  rule: AttemptRule,
  now: Date,
): Promise<Claim> {
  const lockUntil = rule.lockoutMs === null ? LOCKED_UNTIL_UNLOCKED : new Date(now.getTime() + rule.lockoutMs);
  const lapsed = sql<boolean>`(a.locked_until is not null and a.locked_until <= ${now})`;
  const next = sql<number>`(case when ${lapsed} then 1 else a.claimed + 1 end)`;
  const { rows } = await sql<{ claimed: number }>`
    insert into secret_attempt as a (tenant_id, kind, subject, claimed, locked_until, updated_at)
    values (${tenantId}, ${kind}, ${subject}, 1, ${rule.max <= 1 ? lockUntil : null}, ${now})
    on conflict (tenant_id, kind, subject) do update set
      claimed = ${next},
      locked_until = case when ${next} >= ${rule.max} then ${lockUntil}::timestamptz else null end,
      updated_at = ${now}
    where a.locked_until is null or a.locked_until <= ${now}
    returning claimed`.execute(db);
  if (rows[0]) return { locked: false, claimed: rows[0].claimed };
  const row = await db
    .selectFrom('secret_attempt')
    .select('locked_until')
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', kind)
    .where('subject', '=', subject)
    .executeTakeFirst();
  const until = row?.locked_until ?? now;
  return { locked: true, until, retryAfterSeconds: secondsUntil(until, now) };
}

/** A right secret, or the brand unlocking it: the count starts again and any lock lifts. */
export async function resetAttempts(db: Db, tenantId: string, kind: string, subject: string): Promise<void> {
  await db
    .deleteFrom('secret_attempt')
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', kind)
    .where('subject', '=', subject)
    .execute();
}

export type Window = { key: string; limit: number; windowSeconds: number };
export type Taken = { allowed: boolean; count: number; resetAt: Date };

const windowStart = (now: Date, seconds: number) => new Date(Math.floor(now.getTime() / (seconds * 1000)) * seconds * 1000);

/** Counts one event in the current fixed window: one upsert that stops at the limit. */
export async function takeWindow(db: Db, tenantId: string, w: Window, now: Date): Promise<Taken> {
  const start = windowStart(now, w.windowSeconds);
  const resetAt = new Date(start.getTime() + w.windowSeconds * 1000);
  const { rows } = await sql<{ n: number }>`
    insert into rate_limit_window as w (tenant_id, key, window_start, n, expires_at)
    values (${tenantId}, ${w.key}, ${start}, 1, ${resetAt})
    on conflict (tenant_id, key, window_start) do update set n = w.n + 1
    where w.n < ${w.limit}
    returning n`.execute(db);
  return rows[0] ? { allowed: true, count: rows[0].n, resetAt } : { allowed: false, count: w.limit, resetAt };
}

/** Gives back an event counted by takeWindow (a check that turned out not to count, e.g. a right code). */
export async function giveBackWindow(db: Db, tenantId: string, w: Window, now: Date): Promise<void> {
  await db
    .updateTable('rate_limit_window')
    .set((eb) => ({ n: eb('n', '-', 1) }))
    .where('tenant_id', '=', tenantId)
    .where('key', '=', w.key)
    .where('window_start', '=', windowStart(now, w.windowSeconds))
    .where('n', '>', 0)
    .execute();
}

export const rateLimited = (message: string, resetAt: Date, now: Date, details: Record<string, unknown> = {}) =>
  new AppError('RATE_LIMITED', message, { ...details, retryAfterSeconds: secondsUntil(resetAt, now) });

export type SecretCheck = {
  /** What is checked: member_login, manager_login, stamp_otp, card_pin, coupon_pin. */
  kind: string;
  /** Who or what the secret belongs to (a keyed hash for login IDs and card numbers, else an id). */
  credential: string;
  /** The client's address (req.ip: the socket's, or the proxy's X-Forwarded-For when TRUST_PROXY says so). */
  ip: string | undefined;
};

export type LimitDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey'>;

/**
 * The rate limits in front of every secret check: per client IP (all kinds together) and per
 * credential, SECRET_RATE_LIMIT_PER_IP and SECRET_RATE_LIMIT_PER_CREDENTIAL per
 * SECRET_RATE_LIMIT_WINDOW_SECONDS, held in the database across processes. Throws RATE_LIMITED;
 * returns the windows it counted in (giveBackSecretCheck).
 */
export async function limitSecretCheck(deps: LimitDeps, tenantId: string, check: SecretCheck): Promise<Window[]> {
  const { secretPerIp, secretPerCredential, secretWindowSeconds } = deps.config.limits;
  const now = deps.clock.now();
  // An IP address is personal data: only its keyed hash is kept.
  const windows: Window[] = [
    ...(check.ip && secretPerIp > 0
      ? [
          {
            key: `ip:${piiFor(deps.masterKey).hash(tenantId, 'client-ip', check.ip)}`,
            limit: secretPerIp,
            windowSeconds: secretWindowSeconds,
          },
        ]
      : []),
    ...(secretPerCredential > 0
      ? [{ key: `${check.kind}:${check.credential}`, limit: secretPerCredential, windowSeconds: secretWindowSeconds }]
      : []),
  ];
  for (const w of windows) {
    const taken = await takeWindow(deps.db, tenantId, w, now);
    if (!taken.allowed) {
      throw rateLimited(`Too many attempts: retry after ${secondsUntil(taken.resetAt, now)} seconds.`, taken.resetAt, now, {
        limit: w.limit,
        windowSeconds: w.windowSeconds,
        per: w.key.startsWith('ip:') ? 'ip' : 'credential',
      });
    }
  }
  return windows;
}

/** Gives back what limitSecretCheck counted, for a check that turned out not to count (a live single-use code). */
export async function giveBackSecretCheck(deps: Pick<Deps, 'db' | 'clock'>, tenantId: string, windows: Window[]): Promise<void> {
  const now = deps.clock.now();
  for (const w of windows) await giveBackWindow(deps.db, tenantId, w, now);
}

/** The job that keeps the counters small: ended windows, and attempts idle for a day that hold no lock. */
export async function purgeLimitRows(db: Db, now: Date, chunk = 5_000): Promise<number> {
  let total = 0;
  const dayAgo = new Date(now.getTime() - 86_400_000);
  for (;;) {
    const windows = await sql`
      delete from rate_limit_window where (tenant_id, key, window_start) in (
        select tenant_id, key, window_start from rate_limit_window where expires_at < ${now} limit ${chunk})`.execute(db);
    const attempts = await sql`
      delete from secret_attempt where (tenant_id, kind, subject) in (
        select tenant_id, kind, subject from secret_attempt
        where updated_at < ${dayAgo} and (locked_until is null or locked_until < ${now}) limit ${chunk})`.execute(db);
    const n = Number(windows.numAffectedRows ?? 0) + Number(attempts.numAffectedRows ?? 0);
    total += n;
    if (n === 0) return total;
  }
}

/**
 * The per-API-key request limit of /v1, in memory (per process: N processes allow N times the
 * figure). Every answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds)
 * as in draft-ietf-httpapi-ratelimit-headers-06; past the limit, 429 RATE_LIMITED with Retry-After.
 * API_RATE_LIMIT_PER_MINUTE=0 turns it off.
 */
export function apiRateLimit(deps: Pick<Deps, 'config' | 'clock'>) {
  const limit = deps.config.limits.apiPerMinute;
  let windowStartMs = 0;
  let counts = new Map<string, number>();
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (limit === 0 || req.auth?.kind !== 'api_key') return;
    const now = deps.clock.now();
    const start = windowStart(now, 60).getTime();
    // A new minute starts every count again; the old map goes with it, so memory stays bounded.
    if (start !== windowStartMs) [windowStartMs, counts] = [start, new Map()];
    const n = (counts.get(req.auth.keyId) ?? 0) + 1;
    counts.set(req.auth.keyId, n);
    const resetAt = new Date(start + 60_000);
    reply.header('ratelimit-limit', String(limit));
    reply.header('ratelimit-remaining', String(Math.max(0, limit - n)));
    reply.header('ratelimit-reset', String(secondsUntil(resetAt, now)));
    if (n > limit)
      throw rateLimited(`More than ${limit} requests a minute with this API key.`, resetAt, now, {
        limit,
        windowSeconds: 60,
        per: 'api_key',
      });
  };
}
