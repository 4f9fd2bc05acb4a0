import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

// Who is calling. Set by the authentication hooks of the /v1 and /platform/v1 scopes; routes read
// it through these helpers and pass tenantId on to services explicitly.

export const API_KEY_SCOPES = ['pos', 'app', 'server'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export type AuthContext =
  | { kind: 'api_key'; tenantId: string; keyId: string; scope: ApiKeyScope }
  | { kind: 'platform' };

/** The idempotency scope of platform-operator requests, which belong to no tenant. */
export const PLATFORM_SCOPE = '_platform';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** API key scopes allowed on a /v1 route; all scopes when omitted. */
    scopes?: readonly ApiKeyScope[];
  }
}

export function tenantIdOf(req: FastifyRequest): string {
  if (req.auth?.kind !== 'api_key') throw new AppError('UNAUTHENTICATED', 'A tenant API key is required.');
  return req.auth.tenantId;
}
