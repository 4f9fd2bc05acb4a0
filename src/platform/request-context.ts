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

/**
 * What an operator (a person signed in to a console) may do: `resource:action`, a closed list. Every
 * /v1 route declares the one it needs as `config.permission` (or `false`: not for operators), next
 * to its key scopes; the operators module's roles are sets of these.
 */
export const PERMISSIONS = [
  'tenant:read',
  'tenant:admin',
  'members:read',
  'members:pii',
  'members:write',
  'members:export',
  'grades:read',
  'grades:write',
  'points:read',
  'points:write',
  'prepaid:read',
  'prepaid:write',
  'stamps:read',
  'stamps:write',
  'coupons:read',
  'coupons:write',
  'stores:read',
  'stores:write',
  'checkout:read',
  'checkout:write',
  'ledger:read',
  'identity:admin',
  'settlement:read',
  'billing:admin',
  'operators:admin',
  'audit:read',
  'webhooks:admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];
export const isPermission = (p: string): p is Permission => (PERMISSIONS as readonly string[]).includes(p);

/** An operator's session (the operators module authenticates it from the session cookie). */
export type OperatorAuth = {
  kind: 'operator';
  /** null: a platform operator. */
  tenantId: string | null;
  operatorId: string;
  role: string;
  permissions: readonly Permission[];
  /** null: every store. */
  storeIds: string[] | null;
  /** password: a second factor is due; enrol: a factor must be set up; full: signed in. */
  stage: 'password' | 'enrol' | 'full';
  secondFactorAt: Date | null;
  sessionHash: Buffer;
};

export type AuthContext =
  /** storeId: a key bound to a store (a POS terminal) acts for that store only; null: the whole brand. */
  | { kind: 'api_key'; tenantId: string; keyId: string; scope: ApiKeyScope; storeId: string | null }
  | OperatorAuth
  | { kind: 'platform' };

/** Unmasking, exports and access changes need a second factor within this many minutes. */
export const STEP_UP_MINUTES = 15;

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
    /** The operator permission the route needs; `false`: operators cannot call it. Required on every /v1 route. */
    permission?: Permission | false;
    /** Operators need a second factor within the last STEP_UP_MINUTES (unmasking, exports, access changes). */
    stepUp?: boolean;
    /**
     * A write that acts on an earlier operation by its id (a cancel) names no store: the store of
     * that operation (null: none, or no such operation), so that a store-bound caller may cancel
     * what was done at its own store. Runs under the caller's tenant.
     */
    storeOf?: (req: FastifyRequest) => Promise<string | null>;
  }
}

export function tenantIdOf(req: FastifyRequest): string {
  const a = req.auth;
  if (a?.kind === 'api_key' || (a?.kind === 'operator' && a.tenantId !== null)) return a.tenantId!;
  throw new AppError('UNAUTHENTICATED', 'A tenant API key or a tenant operator session is required.');
}

/** Who acts, for the logs of access: the operator, or the API key (the brand's server). */
export function actorIdOf(req: FastifyRequest): string {
  const a = req.auth;
  if (a?.kind === 'operator') return a.operatorId;
  if (a?.kind === 'api_key') return a.keyId;
  return 'platform';
}

/**
 * onRoute of /v1: a route without `config.scopes` stops start-up; the document shows each route's
 * scopes (`x-moa-scopes` and a line in the description).
 */
export function declareScopes(route: RouteOptions): void {
  const { scopes, permission, stepUp } = route.config ?? {};
  if (!scopes?.length) throw new Error(`${route.method} ${route.url} declares no API key scopes (config: { scopes: SCOPES.… }).`);
  if (permission === undefined || (permission !== false && !isPermission(permission)))
    throw new Error(`${route.method} ${route.url} declares no operator permission (config: { permission: '…' or false }).`);
  const lines = [
    `API key scopes: ${scopes.map((s) => `\`${s}\``).join(', ')}.`,
    permission === false
      ? 'Operators: not available.'
      : `Operator permission: \`${permission}\`${stepUp ? ` (with a second factor in the last ${STEP_UP_MINUTES} minutes)` : ''}.`,
  ];
  const description = [route.schema?.description, lines.join(' ')].filter(Boolean).join('\n\n');
  route.schema = {
    ...route.schema,
    security: [{ apiKey: [] }, ...(permission === false ? [] : [{ operatorSession: [] }])],
    description,
    ...{ 'x-moa-scopes': scopes, 'x-moa-permission': permission || 'none' },
  };
}

/**
 * 403 unless the caller may use the route: an API key's scope is one the route declares; an
 * operator is signed in fully, to a tenant, with the route's permission (and a recent second
 * factor where the route asks for one).
 */
export function checkAccess(req: FastifyRequest, now: Date): void {
  const config = req.routeOptions.config;
  if (req.auth?.kind === 'operator') {
    const a = req.auth;
    if (a.stage !== 'full')
      throw new AppError('SECOND_FACTOR_REQUIRED', 'Finish signing in with a second factor.', { stage: a.stage });
    if (a.tenantId === null) throw new AppError('FORBIDDEN', 'Platform operators work on /platform/v1.');
    const needed = config.permission;
    if (!needed || !a.permissions.includes(needed)) {
      throw new AppError('FORBIDDEN', needed ? `This needs the permission ${needed}.` : 'Operators cannot call this route.', {
        permission: needed || null,
      });
    }
    if (config.stepUp && now.getTime() - (a.secondFactorAt?.getTime() ?? 0) > STEP_UP_MINUTES * 60_000) {
      throw new AppError('STEP_UP_REQUIRED', `Confirm with your second factor (valid ${STEP_UP_MINUTES} minutes).`, {
        withinMinutes: STEP_UP_MINUTES,
      });
    }
    return;
  }
  if (req.auth?.kind !== 'api_key') throw new AppError('UNAUTHENTICATED', 'A tenant API key is required.');
  const allowed = config.scopes ?? [];
  if (!allowed.includes(req.auth.scope)) {
    throw new AppError('FORBIDDEN', `This route needs an API key with scope ${allowed.join(' or ')}.`, {
      scope: req.auth.scope,
      allowedScopes: allowed,
    });
  }
}

/** The stores a request names: a `storeId` parameter, query or body field, a body's `storeIds` or `order.storeId`. */
function storesNamed(req: FastifyRequest): string[] {
  const named: string[] = [];
  const take = (v: unknown) => typeof v === 'string' && named.push(v);
  for (const source of [req.params, req.query, req.body]) {
    if (typeof source !== 'object' || source === null) continue;
    const s = source as { storeId?: unknown; storeIds?: unknown; order?: { storeId?: unknown } | null };
    take(s.storeId);
    if (Array.isArray(s.storeIds)) s.storeIds.forEach(take);
    if (typeof s.order === 'object' && s.order !== null) take(s.order.storeId);
  }
  return named;
}

type Shaped = { shape?: Record<string, unknown>; unwrap?: () => unknown };

/** The fields of a zod object schema (through optional/default wrappers), or undefined. */
function fieldsOf(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as Shaped | undefined;
  for (let i = 0; i < 3 && s && !s.shape && typeof s.unwrap === 'function'; i++) s = s.unwrap() as Shaped;
  return s?.shape;
}

/**
 * A key bound to a store names it where the request could name a store and names none: the body's
 * `storeId`, or its `order.storeId` (a coupon redemption). Set in the validated body, so the
 * handler and the idempotency record see the store the request acts for.
 */
function implyStore(req: FastifyRequest, storeId: string): void {
  const body = req.body as Record<string, unknown> | null | undefined;
  const fields = fieldsOf(req.routeOptions.schema?.body);
  if (typeof body !== 'object' || body === null || !fields) return;
  if ('storeId' in fields && body.storeId === undefined) body.storeId = storeId;
  const order = body.order as Record<string, unknown> | null | undefined;
  if ('order' in fields && typeof order === 'object' && order !== null && order.storeId === undefined) {
    if (fields.order && 'storeId' in (fieldsOf(fields.order) ?? {})) order.storeId = storeId;
  }
}

/**
 * The stores a caller is limited to: an operator whose role is limited to some stores
 * (operator.store_ids), or an API key bound to a store (a POS terminal, api_key.store_id), whose
 * store is implied where the request names none. Every store the request names must be one of
 * them, and a write must name one, since a write that names none acts for the whole brand (a
 * program, a definition); a cancel by id passes when the route's `storeOf` finds the cancelled
 * operation at one of them. Runs after validation, when the body is parsed.
 */
export async function checkStores(req: FastifyRequest): Promise<void> {
  const a = req.auth;
  const allowed = a?.kind === 'operator' ? a.storeIds : a?.kind === 'api_key' && a.storeId !== null ? [a.storeId] : null;
  if (allowed === null) return;
  const who = a?.kind === 'operator' ? 'Your role is limited to some stores' : `This API key is bound to store ${allowed[0]}`;
  if (a?.kind === 'api_key' && a.storeId !== null && !storesNamed(req).length) implyStore(req, a.storeId);
  const named = storesNamed(req);
  const outside = [...new Set(named.filter((id) => !allowed.includes(id)))];
  if (outside.length)
    throw new AppError('FORBIDDEN', `${who}, not ${outside.join(', ')}.`, {
      rule: 'store_outside',
      storeIds: outside,
      allowedStoreIds: allowed,
    });
  if (named.length || req.method === 'GET' || req.method === 'HEAD') return;
  // A cancel by id: allowed when the operation it cancels was made at one of the caller's stores.
  const at = req.routeOptions.config.storeOf ? await req.routeOptions.config.storeOf(req) : null;
  if (at !== null && allowed.includes(at)) return;
  if (at !== null)
    throw new AppError('FORBIDDEN', `${who}, not ${at}.`, { rule: 'store_outside', storeIds: [at], allowedStoreIds: allowed });
  throw new AppError('FORBIDDEN', `${who}: this acts for the whole brand.`, {
    rule: 'store_required',
    allowedStoreIds: allowed,
  });
}

/** 401 when the route's session token header is missing; the module behind the route checks its value. */
export async function requireSessionToken(req: FastifyRequest): Promise<void> {
  const session = req.routeOptions.config.session;
  if (!session || req.headers[SESSION_HEADERS[session]]) return;
  const who =
    session === 'member' ? 'a member session token in X-Member-Token' : 'a store manager session token in X-Manager-Token';
  throw new AppError('UNAUTHENTICATED', `Send ${who}.`);
}
