import type { RouteOptions } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { IDEMPOTENCY_HEADER } from './idempotency.ts';
import { SESSION_HEADERS, type SessionKind } from './request-context.ts';

// Schemas shared by every module's routes: the problem document and the common headers.

export const ZProblem = z
  .looseObject({
    type: z.string().meta({ example: '/problems/VALIDATION_FAILED' }),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string(), code: z.string() }))
      .optional()
      .meta({ description: 'For VALIDATION_FAILED: each field that failed and why.' }),
    details: z.record(z.string(), z.unknown()).optional().meta({ description: 'The values behind a business rejection.' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json).' });

// Instants and calendar dates, for every module: ISO 8601 as zod checks it (four-digit years, real
// calendar days), within years 1-9999, which JavaScript and PostgreSQL both hold exactly (PostgreSQL
// has no year 0). Outside, a 400 here rather than a RangeError or a database error later.
const FIRST = Date.parse('0001-01-01T00:00:00Z');
const LAST = Date.parse('9999-12-31T23:59:59.999Z');
const inRange = (s: string) => {
  const t = Date.parse(s);
  return t >= FIRST && t <= LAST;
};
const RANGE = { message: 'must be between years 1 and 9999' };

/** An instant: `2025-03-01T09:00:00Z` (UTC, optional fraction of a second). */
export const ZInstant = z.iso.datetime().refine(inRange, RANGE);
/** An instant with an optional UTC offset: `2025-03-01T18:00:00+09:00`. */
export const ZInstantWithOffset = z.iso.datetime({ offset: true }).refine(inRange, RANGE);
/** A calendar date: `2025-03-01`. */
export const ZCalendarDate = z.iso.date().refine((s) => inRange(`${s}T00:00:00Z`), RANGE);

const describe: Record<number, string> = {
  400: 'Invalid request (VALIDATION_FAILED, BAD_REQUEST, IDEMPOTENCY_KEY_INVALID, IDEMPOTENCY_KEY_REQUIRED)',
  401: 'Missing, unknown or revoked credentials (UNAUTHENTICATED)',
  403: 'Not allowed (FORBIDDEN, TENANT_SUSPENDED)',
  404: 'Not found (NOT_FOUND)',
  409: 'Conflict (CONFLICT, IDEMPOTENCY_IN_FLIGHT)',
  422: 'Idempotency-Key reused with another request, or a business rule rejected it',
  423: 'Temporarily locked after repeated failures (LOGIN_LOCKED)',
  429: 'Too many attempts or requests (RATE_LIMITED); retry after the Retry-After header (details.retryAfterSeconds)',
};

/** Documents problem responses for a route (the error handler sends them). */
export function problems(...statuses: (keyof typeof describe)[]) {
  return Object.fromEntries(statuses.map((s) => [s, ZProblem.describe(describe[s]!)]));
}

const IDEMPOTENCY_KEY =
  'Makes the write safe to retry: the same key and request return the first response (header Idempotent-Replayed: true); the same key with another request is rejected (422). Kept 24 hours.';
const idempotencyKey = {
  required: z.string().meta({ description: `Required: without it, 400 IDEMPOTENCY_KEY_REQUIRED. ${IDEMPOTENCY_KEY}` }),
  optional: z
    .string()
    .optional()
    .meta({ description: `Optional. ${IDEMPOTENCY_KEY}` }),
};
const sessionToken: Record<SessionKind, z.ZodString> = {
  member: z
    .string()
    .max(200)
    .meta({ description: 'The member session token from login (POST /v1/members/login). Without it, 401 UNAUTHENTICATED.' }),
  manager: z.string().max(200).meta({
    description: 'The store manager session token from POST /v1/store-managers/login. Without it, 401 UNAUTHENTICATED.',
  }),
};

/**
 * onRoute: the headers a route's config declares (`idempotency`, `session`) become its header
 * schema and documented problem responses, so the OpenAPI document says what the checks
 * (requireIdempotencyKey, requireSessionToken) enforce. Both run before validation, so a missing
 * header gets its own code rather than VALIDATION_FAILED.
 */
export function declareRouteHeaders(route: RouteOptions): void {
  const { idempotency, session } = route.config ?? {};
  if (!idempotency && !session) return;
  const shape: Record<string, z.ZodType> = {};
  if (idempotency) shape[IDEMPOTENCY_HEADER] = idempotencyKey[idempotency];
  if (session) shape[SESSION_HEADERS[session]] = sessionToken[session];
  const schema = route.schema ?? {};
  const own = schema.headers as z.ZodObject | undefined;
  const statuses: (keyof typeof describe)[] = [
    ...(idempotency === 'required' ? [400 as const] : []),
    ...(session ? [401 as const] : []),
  ];
  route.schema = {
    ...schema,
    headers: own ? own.extend(shape) : z.object(shape),
    response: { ...problems(...statuses), ...(schema.response as object | undefined) },
  };
}
