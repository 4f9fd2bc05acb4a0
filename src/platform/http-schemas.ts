import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';

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

const describe: Record<number, string> = {
  400: 'Invalid request (VALIDATION_FAILED, BAD_REQUEST, IDEMPOTENCY_KEY_INVALID)',
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

export const ZIdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .meta({
      description:
        'Makes the write safe to retry: the same key and request return the first response (header Idempotent-Replayed: true); the same key with another request is rejected (422). Kept 24 hours.',
    }),
});
