import type { FastifyRequest, RouteOptions } from 'fastify';
import { AppError } from './errors.ts';

// Who is calling. Set by the authentication hooks of the /v1 and /platform/v1 scopes; routes read
// it through these helpers and pass tenantId on to services explicitly.

export const API_KEY_SCOPES = ['pos', 'app', 'server'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * The scope table: every /v1 route declares one of these sets as `config.scopes` (start-up fails
 * otherwise) and the /v1 hook answers 403 FORBIDDEN to any other key. `server` is full access, so
 * it is in every set.
 */
export const SCOPES = {
  /** Every key: what a store terminal and the app both show (the brand, its programs' rules, stores). */
  all: ['pos', 'app', 'server'],
  /** Store terminals: earn and use at the counter, checkout, stamps, coupon redemption, member lookups. */
  pos: ['pos', 'server'],
  /** The brand's app/web backend: sign-up, login, recovery, identity, and the member's own /me routes. */
  app: ['app', 'server'],
  /** The brand's servers only: programs, definitions, operators' actions, reports, raw ledger reads. */
  server: ['server'],
} as const satisfies Record<string, readonly ApiKeyScope[]>;

/** The session a route needs besides the API key, and the header that carries its token. */
export const SESSION_HEADERS = { member: 'x-member-token', manager: 'x-manager-token' } as const;
export type SessionKind = keyof typeof SESSION_HEADERS;

export type AuthContext = { kind: 'api_key'; tenantId: string; keyId: string; scope: ApiKeyScope } | { kind: 'platform' };

/** The idempotency scope of platform-operator requests, which belong to no tenant. */
export const PLATFORM_SCOPE = '_platform';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  // What a route declares about its callers; the checks and the OpenAPI document both read it.
  interface FastifyContextConfig {
    /** API key scopes allowed on a /v1 route (one of SCOPES); required on every /v1 route. */
    scopes?: readonly ApiKeyScope[];
    /** The route runs under an Idempotency-Key: `required` answers 400 IDEMPOTENCY_KEY_REQUIRED without one. */
    idempotency?: 'required' | 'optional';
    /** The route needs a member's or a store manager's session token too (401 UNAUTHENTICATED without it). */
    session?: SessionKind;
  }
}

export function tenantIdOf(req: FastifyRequest): string {
  if (req.auth?.kind !== 'api_key') throw new AppError('UNAUTHENTICATED', 'A tenant API key is required.');
  return req.auth.tenantId;
}

/**
 * onRoute of /v1: a route without `config.scopes` stops start-up; the document shows each route's
 * scopes (`x-moa-scopes` and a line in the description).
 */
export function declareScopes(route: RouteOptions): void {
  const scopes = route.config?.scopes;
  if (!scopes?.length) throw new Error(`${route.method} ${route.url} declares no API key scopes (config: { scopes: SCOPES.… }).`);
  const line = `API key scopes: ${scopes.map((s) => `\`${s}\``).join(', ')}.`;
  const description = route.schema?.description ? `${route.schema.description}\n\n${line}` : line;
  route.schema = { ...route.schema, security: [{ apiKey: [] }], description, ...{ 'x-moa-scopes': scopes } };
}

/** 403 unless the API key's scope is one the route declares (routes without a declaration admit nobody). */
export function checkScope(req: FastifyRequest): void {
  if (req.auth?.kind !== 'api_key') throw new AppError('UNAUTHENTICATED', 'A tenant API key is required.');
  const allowed = req.routeOptions.config.scopes ?? [];
  if (!allowed.includes(req.auth.scope)) {
    throw new AppError('FORBIDDEN', `This route needs an API key with scope ${allowed.join(' or ')}.`, {
      scope: req.auth.scope,
      allowedScopes: allowed,
    });
  }
}

/** 401 when the route's session token header is missing; the module behind the route checks its value. */
export async function requireSessionToken(req: FastifyRequest): Promise<void> {
  const session = req.routeOptions.config.session;
  if (!session || req.headers[SESSION_HEADERS[session]]) return;
  const who =
    session === 'member' ? 'a member session token in X-Member-Token' : 'a store manager session token in X-Manager-Token';
  throw new AppError('UNAUTHENTICATED', `Send ${who}.`);
}
