import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { ZPageOf, ZPageQuery } from '../../platform/pages.ts';
import { actorIdOf, SCOPES } from '../../platform/request-context.ts';
import { operatorCodeRoutes } from './operator-codes.routes.ts';
import { operatorPasskeyRoutes } from './operator-passkeys.routes.ts';
import {
  checkCsrf,
  clearSessionCookie,
  requireSecureTransport,
  sessionCookie,
  setSessionCookie,
} from './operator-session.cookie.ts';
import type { OperatorAuth } from './operator-sessions.service.ts';
import * as sessions from './operator-sessions.service.ts';
import {
  ZAccept,
  ZAccessChange,
  ZAccessReviewLine,
  ZCode,
  ZCreatedInvitation,
  ZInvitation,
  ZInvitationRequest,
  ZLogin,
  ZMe,
  ZOperator,
  ZPolicy,
  ZRecoveryCodes,
  ZRole,
  ZRoleChange,
  ZRoleRequest,
  ZRoleUpdate,
  ZSessionState,
  ZTotpEnrolment,
} from './operators.schemas.ts';
import * as service from './operators.service.ts';

const authTags = ['Operator sign-in'];
const tags = ['Operators'];
const cookieSecurity = [{ operatorSession: [] }];

/** The tenant a /v1 operator route works on (platform operators have none). */
function tenantOf(req: FastifyRequest): string {
  const a = req.auth;
  if (a?.kind === 'api_key') return a.tenantId;
  if (a?.kind === 'operator' && a.tenantId !== null) return a.tenantId;
  throw new AppError('UNAUTHENTICATED', 'A tenant API key or a tenant operator session is required.');
}

async function sessionOf(deps: Deps, req: FastifyRequest): Promise<OperatorAuth> {
  return sessions.authenticateOperator(deps, sessionCookie(req));
}

function answer(reply: FastifyReply, s: sessions.NewSession) {
  setSessionCookie(reply, s.token, s.expiresAt);
  return { stage: s.stage, expiresAt: s.expiresAt.toISOString() };
}

/**
 * Answers a new invitation with its accept link (201); the idempotency record keeps it sealed,
 * since the token is a secret shown once.
 */
const sendInvitation = (
  deps: Deps,
  req: FastifyRequest,
  reply: FastifyReply,
  create: (deps: Deps) => Promise<{ token: string }>,
) =>
  idempotent(
    deps,
    req,
    reply,
    async (db) => {
      const inv = await create({ ...deps, db });
      return { ...inv, acceptUrl: acceptUrl(req, inv.token) };
    },
    { status: 201, secret: true },
  );

const acceptUrl = (req: FastifyRequest, token: string) => service.invitationUrl(`${req.protocol}://${req.host}`, token);

/**
 * /auth: operator sign-in, second factors and sessions (cookie-based, public: no API key). Every
 * state-changing request passes the same CSRF check as the console's /v1 calls.
 */
export function operatorAuthRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', async (req) => {
      requireSecureTransport(req);
      checkCsrf(req);
    });
    app.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, tags: authTags };
    });
    await app.register(operatorPasskeyRoutes(deps));

    app.post('/login', {
      schema: {
        summary: 'Sign in with e-mail and password (step 1; a second factor follows)',
        description:
          'Sets the session cookie `__Host-moa_operator`. A wrong e-mail, a wrong password and a locked account get the same 401 INVALID_CREDENTIALS.',
        body: ZLogin,
        response: { 200: ZSessionState, ...problems(400, 401, 403, 429) },
      },
      handler: async (req, reply) =>
        answer(reply, await sessions.login(deps, { ...req.body, ip: req.ip, userAgent: req.headers['user-agent'] })),
    });
    app.post('/second-factor', {
      schema: {
        summary: 'Step 2: a TOTP code or a recovery code',
        description: 'A TOTP code is accepted once. The session gets a new id (cookie) and is signed in.',
        security: cookieSecurity,
        body: ZCode,
        response: { 200: ZSessionState, ...problems(400, 401, 403, 429) },
      },
      handler: async (req, reply) => {
        const auth = await sessionOf(deps, req);
        const s =
          req.body.method === 'totp'
            ? await sessions.verifyTotp(deps, auth, req.body.code, req.ip)
            : await sessions.useRecoveryCode(deps, auth, req.body.code, req.ip);
        return answer(reply, s);
      },
    });
    app.post('/step-up', {
      schema: {
        summary: 'Confirm the second factor again (unmasking, exports and access changes need one within 15 minutes)',
        security: cookieSecurity,
        body: ZCode,
        response: { 200: ZSessionState, ...problems(400, 401, 403, 429) },
      },
      handler: async (req, reply) =>
        answer(reply, await sessions.stepUp(deps, await sessionOf(deps, req), req.body.method, req.body.code, req.ip)),
    });
    app.post('/enrol/totp', {
      schema: {
        summary: 'Start enrolling an authenticator app: a new secret and its QR code',
        security: cookieSecurity,
        response: { 200: ZTotpEnrolment, ...problems(401, 403, 409) },
      },
      handler: async (req) => {
        const auth = await sessionOf(deps, req);
        const me = await meOf(deps, auth);
        const e = await sessions.startTotpEnrolment(deps, auth, me.operator.email, me.tenant?.name ?? 'Platform');
        return { ...e, qrSvg: await QRCode.toString(e.uri, { type: 'svg', margin: 1 }) };
      },
    });
    app.post('/enrol/totp/confirm', {
      schema: {
        summary: 'Finish enrolling with a first code: returns ten recovery codes (shown once) and signs in',
        security: cookieSecurity,
        body: z.object({ code: z.string().trim().min(6).max(6) }),
        response: { 200: ZRecoveryCodes.extend(ZSessionState.shape), ...problems(400, 401, 409, 429) },
      },
      handler: async (req, reply) => {
        const r = await sessions.confirmTotpEnrolment(deps, await sessionOf(deps, req), req.body.code, req.ip);
        return { ...answer(reply, r.session), recoveryCodes: r.recoveryCodes };
      },
    });
    app.post('/recovery-codes', {
      schema: {
        summary: 'Ten new recovery codes; the old ones stop working (needs a second factor within 15 minutes)',
        security: cookieSecurity,
        response: { 200: ZRecoveryCodes, ...problems(401, 403) },
      },
      handler: async (req) => {
        const auth = await sessionOf(deps, req);
        if (auth.stage !== 'full')
          throw new AppError('SECOND_FACTOR_REQUIRED', 'Finish signing in first.', { stage: auth.stage });
        sessions.requireStepUp(deps, auth);
        return { recoveryCodes: await sessions.newRecoveryCodes(deps, auth) };
      },
    });
    app.get('/session', {
      schema: {
        summary: 'The signed-in operator, the tenant and the permissions (the console shows menus from them)',
        security: cookieSecurity,
        response: { 200: ZMe, ...problems(401) },
      },
      handler: async (req) => meOf(deps, await sessionOf(deps, req)),
    });
    app.post('/logout', {
      schema: { summary: 'Sign out of this session', security: cookieSecurity, response: { 204: z.null(), ...problems(401) } },
      handler: async (req, reply) => {
        await sessions.logout(deps, await sessionOf(deps, req));
        clearSessionCookie(reply);
        return reply.code(204).send(null);
      },
    });
    app.post('/logout-everywhere', {
      schema: {
        summary: 'Sign out of every session of this operator, in every browser',
        security: cookieSecurity,
        response: { 204: z.null(), ...problems(401) },
      },
      handler: async (req, reply) => {
        const auth = await sessionOf(deps, req);
        await sessions.logoutEverywhere(deps, auth.tenantId, auth.operatorId);
        clearSessionCookie(reply);
        return reply.code(204).send(null);
      },
    });
    app.get('/invitations/:token', {
      schema: {
        summary: 'What an invitation is for (before accepting it)',
        params: z.object({ token: z.string().max(100) }),
        response: {
          200: z.object({ email: z.string(), name: z.string(), role: z.string(), expiresAt: z.string() }),
          ...problems(410),
        },
      },
      handler: (req) => service.describeInvitation(deps, req.params.token),
    });
    app.post('/invitations/:token/accept', {
      schema: {
        summary: 'Accept an invitation: choose a password; the session can then only enrol a second factor',
        description:
          'Passwords: 10 to 128 characters, any characters, not in a list of 437,651 leaked passwords, not containing the e-mail name (PASSWORD_REJECTED says which).',
        params: z.object({ token: z.string().max(100) }),
        body: ZAccept,
        response: { 200: ZSessionState, ...problems(400, 410, 422) },
      },
      handler: async (req, reply) => {
        const r = await service.acceptInvitation(deps, req.params.token, {
          password: req.body.password,
          ip: req.ip,
          userAgent: req.headers['user-agent'],
        });
        return answer(reply, r.session);
      },
    });
    // Codes by SMS or AlimTalk, the phone, emergency e-mail recovery.
    await app.register(operatorCodeRoutes(deps));
  };
}

async function meOf(deps: Deps, auth: OperatorAuth) {
  const [operator, tenantName, left] = await Promise.all([
    service.getOperator(deps, auth.tenantId, auth.operatorId),
    auth.tenantId === null ? null : service.tenantName(deps, auth.tenantId),
    sessions.recoveryCodesLeft(deps, auth.operatorId),
  ]);
  return {
    operator,
    tenant: auth.tenantId === null ? null : { id: auth.tenantId, name: tenantName ?? '' },
    permissions: [...auth.permissions],
    stage: auth.stage,
    secondFactorAt: auth.secondFactorAt?.toISOString() ?? null,
    recoveryCodesLeft: left,
  };
}

const ZOperatorParams = z.object({ operatorId: z.string().max(40) });

/** /v1/operators: the brand's operators, invitations, roles and the access-change log. */
export function operatorRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const admin = { scopes: SCOPES.server, permission: 'operators:admin' } as const;
    app.get('/operators', {
      config: admin,
      schema: {
        tags,
        summary: 'The brand’s operators',
        response: { 200: z.object({ items: z.array(ZOperator) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await service.listOperators(deps, tenantOf(req)) }),
    });
    app.get('/operators/:operatorId', {
      config: admin,
      schema: {
        tags,
        summary: 'One operator',
        params: ZOperatorParams,
        response: { 200: ZOperator, ...problems(401, 403, 404) },
      },
      handler: (req) => service.getOperator(deps, tenantOf(req), req.params.operatorId),
    });
    app.post('/operators/invitations', {
      config: { ...admin, idempotency: 'optional', stepUp: true },
      schema: {
        tags,
        summary: 'Invite a person (single-use link, 72 hours, bound to the e-mail)',
        description: 'The token is in this response only; with an Idempotency-Key a retry returns it again from a sealed record.',
        body: ZInvitationRequest,
        response: { 201: ZCreatedInvitation, ...problems(400, 401, 403, 404, 409) },
      },
      handler: (req, reply) =>
        sendInvitation(deps, req, reply, (d) => service.invite(d, tenantOf(req), req.body, actorIdOf(req))),
    });
    app.get('/operators/invitations', {
      config: admin,
      schema: {
        tags,
        summary: 'Open invitations',
        response: { 200: z.object({ items: z.array(ZInvitation) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await service.listInvitations(deps, tenantOf(req)) }),
    });
    app.delete('/operators/invitations/:invitationId', {
      config: admin,
      schema: {
        tags,
        summary: 'Revoke an open invitation',
        params: z.object({ invitationId: z.string().max(40) }),
        response: { 204: z.null(), ...problems(401, 403, 404) },
      },
      handler: async (req, reply) => {
        await service.revokeInvitation(deps, tenantOf(req), req.params.invitationId, actorIdOf(req));
        return reply.code(204).send(null);
      },
    });
    app.put('/operators/:operatorId/role', {
      config: { ...admin, stepUp: true },
      schema: {
        tags,
        summary: 'Change an operator’s role and stores (the last owner keeps the owner role: LAST_OWNER)',
        params: ZOperatorParams,
        body: ZRoleChange,
        response: { 200: ZOperator, ...problems(400, 401, 403, 404, 409) },
      },
      handler: (req) => service.changeRole(deps, tenantOf(req), req.params.operatorId, req.body, actorIdOf(req)),
    });
    for (const [path, status, summary] of [
      ['suspend', 'suspended', 'Suspend an operator: every session ends at once'],
      ['reactivate', 'active', 'Reactivate a suspended operator'],
    ] as const) {
      app.post(`/operators/:operatorId/${path}`, {
        config: { ...admin, stepUp: true },
        schema: { tags, summary, params: ZOperatorParams, response: { 200: ZOperator, ...problems(401, 403, 404, 409) } },
        handler: (req) => service.setOperatorStatus(deps, tenantOf(req), req.params.operatorId, status, actorIdOf(req)),
      });
    }
    app.delete('/operators/:operatorId', {
      config: { ...admin, stepUp: true },
      schema: {
        tags,
        summary: 'Remove an operator (the account cannot sign in again; its history stays)',
        params: ZOperatorParams,
        response: { 204: z.null(), ...problems(401, 403, 404, 409) },
      },
      handler: async (req, reply) => {
        await service.setOperatorStatus(deps, tenantOf(req), req.params.operatorId, 'removed', actorIdOf(req));
        return reply.code(204).send(null);
      },
    });
    app.get('/operators/roles', {
      config: admin,
      schema: {
        tags,
        summary: 'Built-in and custom roles',
        response: { 200: z.object({ items: z.array(ZRole) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await service.listRoles(deps, tenantOf(req)) }),
    });
    app.post('/operators/roles', {
      config: { ...admin, stepUp: true },
      schema: {
        tags,
        summary: 'Create a custom role',
        body: ZRoleRequest,
        response: { 201: ZRole, ...problems(400, 401, 403, 409) },
      },
      handler: async (req, reply) => {
        reply.code(201).send(await service.createRole(deps, tenantOf(req), req.body, actorIdOf(req)));
      },
    });
    app.patch('/operators/roles/:roleId', {
      config: { ...admin, stepUp: true },
      schema: {
        tags,
        summary: 'Change a custom role',
        params: z.object({ roleId: z.string().max(40) }),
        body: ZRoleUpdate,
        response: { 200: ZRole, ...problems(400, 401, 403, 404, 409) },
      },
      handler: (req) => service.updateRole(deps, tenantOf(req), req.params.roleId, req.body, actorIdOf(req)),
    });
    app.delete('/operators/roles/:roleId', {
      config: { ...admin, stepUp: true },
      schema: {
        tags,
        summary: 'Delete a custom role no operator has',
        params: z.object({ roleId: z.string().max(40) }),
        response: { 204: z.null(), ...problems(401, 403, 404, 409) },
      },
      handler: async (req, reply) => {
        await service.deleteRole(deps, tenantOf(req), req.params.roleId, actorIdOf(req));
        return reply.code(204).send(null);
      },
    });
    app.get('/operators/access-changes', {
      config: { scopes: SCOPES.server, permission: 'audit:read' },
      schema: {
        tags,
        summary: 'Every grant, change and revocation of access, newest first (append-only, kept 3 years)',
        querystring: ZPageQuery,
        response: { 200: ZPageOf(ZAccessChange), ...problems(400, 401, 403) },
      },
      handler: (req) => service.listAccessChanges(deps, tenantOf(req), req.query),
    });
    app.get('/operators/access-review', {
      config: { scopes: SCOPES.server, permission: 'audit:read' },
      schema: {
        tags,
        summary: 'The quarterly access review: operator × permission × last use',
        response: { 200: z.object({ items: z.array(ZAccessReviewLine) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await service.accessReview(deps, tenantOf(req)) }),
    });
    app.put('/operators/policy', {
      config: { ...admin, stepUp: true },
      schema: {
        tags,
        summary: 'The brand’s operator session policy (idle timeout, 5–720 minutes; the absolute limit is 12 hours)',
        body: ZPolicy,
        response: { 200: ZPolicy, ...problems(400, 401, 403) },
      },
      handler: (req) => service.setPolicy(deps, tenantOf(req), req.body.idleMinutes, actorIdOf(req)),
    });
  };
}

/** /platform/v1/operators: the platform's own operators, and the invitation of a tenant's first owner. */
export function platformOperatorRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const ptags = ['Platform'];
    app.post('/tenants/:tenantId/owner-invitation', {
      config: { idempotency: 'optional' },
      schema: {
        tags: ptags,
        summary: 'Invite the first owner of a tenant (its representative)',
        params: z.object({ tenantId: z.string().max(40) }),
        body: ZInvitationRequest.omit({ role: true, storeIds: true }),
        response: { 201: ZCreatedInvitation, ...problems(400, 401, 404, 409) },
      },
      handler: (req, reply) =>
        sendInvitation(deps, req, reply, (d) => service.inviteOwner(d, req.params.tenantId, req.body, actorIdOf(req))),
    });
    app.post('/operators/invitations', {
      config: { idempotency: 'optional' },
      schema: {
        tags: ptags,
        summary: 'Invite a platform operator',
        body: ZInvitationRequest.omit({ role: true, storeIds: true }),
        response: { 201: ZCreatedInvitation, ...problems(400, 401, 409) },
      },
      handler: (req, reply) =>
        sendInvitation(deps, req, reply, (d) => service.invite(d, null, { ...req.body, role: 'platform' }, actorIdOf(req))),
    });
    app.get('/operators', {
      schema: {
        tags: ptags,
        summary: 'The platform operators',
        response: { 200: z.object({ items: z.array(ZOperator) }), ...problems(401) },
      },
      handler: async () => ({ items: await service.listOperators(deps, null) }),
    });
    app.post('/operators/:operatorId/suspend', {
      schema: {
        tags: ptags,
        summary: 'Suspend a platform operator',
        params: ZOperatorParams,
        response: { 200: ZOperator, ...problems(401, 404) },
      },
      handler: (req) => service.setOperatorStatus(deps, null, req.params.operatorId, 'suspended', actorIdOf(req)),
    });
  };
}
