import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems, ZIdempotencyHeaders } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { tenantIdOf } from '../../platform/request-context.ts';
import * as lifecycle from './member-lifecycle.service.ts';
import * as sessions from './member-sessions.service.ts';
import {
  ZChangePhoneRequest,
  ZFindIdRequest,
  ZFindIdResponse,
  ZLoginRequest,
  ZLoginResponse,
  ZMember,
  ZMemberId,
  ZMemberPolicy,
  ZReactivateRequest,
  ZResetPasswordRequest,
  ZSession,
  ZSignUpRequest,
  ZWithdrawalPreview,
  ZWithdrawRequest,
} from './members.schemas.ts';
import * as service from './members.service.ts';

const ZMemberHeaders = z.object({ 'x-member-token': z.string().max(200).optional().meta({ description: 'The member session token from login (required).' }) });
const memberToken = (req: FastifyRequest) => req.headers['x-member-token'] as string | undefined;

/** /v1: sign-up, login and account recovery (the brand's app) and member lookups (its servers). */
export function memberRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const me = (req: FastifyRequest) => sessions.authenticateMember(deps, tenantIdOf(req), memberToken(req));

    app.post('/members', {
      config: { scopes: ['app', 'server'] },
      schema: {
        tags: ['Members'],
        summary: 'Sign a member up (회원가입)',
        description:
          'Through a verified `signup` verification, or without one where the brand allows it. Rejections: ALREADY_MEMBER, ' +
          'REJOIN_BLOCKED, UNDER_AGE, LOGIN_ID_TAKEN, CONSENT_REQUIRED, VERIFICATION_REQUIRED, VERIFICATION_NOT_USABLE, or the ' +
          'failed verification’s own reason (PHONE_NOT_OWN_NAME, …).',
        headers: ZIdempotencyHeaders,
        body: ZSignUpRequest,
        response: { 201: ZMember, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) => idempotent(deps, req, reply, (db) => service.signUp({ ...deps, db }, tenantIdOf(req), req.body), { status: 201 }),
    });

    app.get('/members/policy', {
      config: { scopes: ['server'] },
      schema: { tags: ['Members'], summary: 'The brand’s member policy', response: { 200: ZMemberPolicy, ...problems(401, 403) } },
      handler: (req) => service.getPolicy(deps, tenantIdOf(req)),
    });

    app.put('/members/policy', {
      config: { scopes: ['server'] },
      schema: {
        tags: ['Members'],
        summary: 'Change the member policy (applies from now on)',
        body: ZMemberPolicy,
        response: { 200: ZMemberPolicy, ...problems(400, 401, 403) },
      },
      handler: (req) => service.updatePolicy(deps, tenantIdOf(req), req.body),
    });

    app.get('/members/:id', {
      config: { scopes: ['server'] },
      schema: {
        tags: ['Members'],
        summary: 'A member (personal data masked)',
        params: z.object({ id: ZMemberId }),
        response: { 200: ZMember, ...problems(401, 403, 404) },
      },
      handler: (req) => service.getMember(deps, tenantIdOf(req), req.params.id),
    });

    app.post('/members/login', {
      config: { scopes: ['app', 'server'] },
      schema: {
        tags: ['Members'],
        summary: 'Log a member in by login ID and password',
        description: 'INVALID_CREDENTIALS for a wrong ID or password alike; LOGIN_LOCKED after too many wrong passwords in a row; MEMBER_DORMANT.',
        body: ZLoginRequest,
        response: { 200: ZLoginResponse, ...problems(400, 401, 403, 423) },
      },
      handler: (req) => sessions.login(deps, tenantIdOf(req), { ...req.body, userAgent: req.headers['user-agent'] }),
    });

    app.post('/members/find-id', {
      config: { scopes: ['app', 'server'] },
      schema: {
        tags: ['Members'],
        summary: 'Find the login ID (아이디 찾기) through a `find_id` verification',
        body: ZFindIdRequest,
        response: { 200: ZFindIdResponse, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req) => service.findLoginId(deps, tenantIdOf(req), req.body.verificationId),
    });

    app.post('/members/password-reset', {
      config: { scopes: ['app', 'server'] },
      schema: {
        tags: ['Members'],
        summary: 'Reset the password through a `reset_password` verification (ends every session, lifts a lockout)',
        body: ZResetPasswordRequest,
        response: { 204: z.null(), ...problems(400, 401, 403, 404, 422) },
      },
      handler: async (req, reply) => {
        await service.resetPassword(deps, tenantIdOf(req), req.body);
        return reply.code(204).send(null);
      },
    });

    app.post('/members/reactivate', {
      config: { scopes: ['app', 'server'] },
      schema: {
        tags: ['Members'],
        summary: 'Reactivate a dormant account (휴면 해제) with its password and a `reactivate` verification; logs in',
        body: ZReactivateRequest,
        response: { 200: ZLoginResponse, ...problems(400, 401, 403, 409, 422, 423) },
      },
      handler: (req) => lifecycle.reactivate(deps, tenantIdOf(req), { ...req.body, userAgent: req.headers['user-agent'] }),
    });

    app.get('/me/withdrawal', {
      config: { scopes: ['app'] },
      schema: {
        tags: ['Members'],
        summary: 'What withdrawing would take away (balances from the ledger) and when data is removed',
        headers: ZMemberHeaders,
        response: { 200: ZWithdrawalPreview, ...problems(401, 403) },
      },
      handler: async (req) => lifecycle.withdrawalPreview(deps, tenantIdOf(req), (await me(req)).member),
    });

    app.post('/me/withdrawal', {
      config: { scopes: ['app'] },
      schema: {
        tags: ['Members'],
        summary: 'Withdraw (회원 탈퇴): deactivates at once; personal data is removed after the policy’s days',
        headers: ZMemberHeaders,
        body: ZWithdrawRequest,
        response: { 200: ZMember, ...problems(400, 401, 403) },
      },
      handler: async (req) => lifecycle.withdraw(deps, tenantIdOf(req), (await me(req)).member.id, req.body.reason),
    });

    app.get('/me', {
      config: { scopes: ['app'] },
      schema: { tags: ['Members'], summary: 'The logged-in member', headers: ZMemberHeaders, response: { 200: ZMember, ...problems(401, 403) } },
      handler: async (req) => service.toMemberDto((await me(req)).member, deps),
    });

    app.post('/me/phone', {
      config: { scopes: ['app'] },
      schema: {
        tags: ['Members'],
        summary: 'Change the phone number through a `change_phone` verification of the member',
        headers: ZMemberHeaders,
        body: ZChangePhoneRequest,
        response: { 200: ZMember, ...problems(400, 401, 403, 409, 422) },
      },
      handler: async (req) => service.changePhone(deps, tenantIdOf(req), (await me(req)).member.id, req.body.verificationId),
    });

    app.get('/me/sessions', {
      config: { scopes: ['app'] },
      schema: {
        tags: ['Members'],
        summary: 'The member’s open sessions',
        headers: ZMemberHeaders,
        response: { 200: z.object({ items: z.array(ZSession) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await sessions.listSessions(deps, tenantIdOf(req), await me(req)) }),
    });

    app.delete('/me/sessions/:sessionId', {
      config: { scopes: ['app'] },
      schema: {
        tags: ['Members'],
        summary: 'End one of the member’s sessions (its own: log out)',
        headers: ZMemberHeaders,
        params: z.object({ sessionId: z.string().max(40) }),
        response: { 204: z.null(), ...problems(401, 403, 404) },
      },
      handler: async (req, reply) => {
        await sessions.revokeSession(deps, tenantIdOf(req), await me(req), req.params.sessionId);
        return reply.code(204).send(null);
      },
    });
  };
}
