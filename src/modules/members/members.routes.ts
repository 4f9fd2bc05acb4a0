import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { htmlForms } from '../../platform/http.ts';
import { streamedBody } from '../../platform/http-input.ts';
import { problems, ZInstant } from '../../platform/http-schemas.ts';
import { idempotent, idempotentSteps } from '../../platform/idempotency.ts';
import { ZPageOf } from '../../platform/pages.ts';
import { actorIdOf, SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import * as consents from './member-consents.service.ts';
import * as imports from './member-import.service.ts';
import * as lifecycle from './member-lifecycle.service.ts';
import * as profile from './member-profile.service.ts';
import * as sessions from './member-sessions.service.ts';
import { SOCIAL_PROVIDERS } from './member-social.provider.ts';
import {
  type AuthorizeSubmission,
  authorizePageHtml,
  checkAuthorize,
  socialErrorHtml,
  submitAuthorize,
} from './member-social.sandbox.ts';
import * as social from './member-social.service.ts';
import {
  ZChangePasswordRequest,
  ZChangePhoneRequest,
  ZConfirmEmailRequest,
  ZFindIdRequest,
  ZFindIdResponse,
  ZLoginRequest,
  ZLoginResponse,
  ZMember,
  ZMemberConsents,
  ZMemberConsentsChange,
  ZMemberId,
  ZMemberListQuery,
  ZMemberPolicy,
  ZMyConsentsChange,
  ZReactivateRequest,
  ZResetPasswordRequest,
  ZSession,
  ZSignUpRequest,
  ZUnmaskedMember,
  ZUnmaskRequest,
  ZUpdateMeRequest,
  ZUpdateMeResponse,
  ZWithdrawalPreview,
  ZWithdrawRequest,
} from './members.schemas.ts';
import * as service from './members.service.ts';

const memberToken = (req: FastifyRequest) => req.headers['x-member-token'] as string | undefined;

/** The member behind a request's X-Member-Token (for /me routes, which declare `config.session: 'member'`). */
export const currentMember = (deps: Deps, req: FastifyRequest) =>
  sessions.authenticateMember(deps, tenantIdOf(req), memberToken(req));

const ZImportParams = z.object({ importId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) });
const ZImportSummary = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'done']),
    fileName: z.string().nullable(),
    rowsDone: z.number().int().meta({ description: 'CSV rows (after the header) committed so far: the resume point.' }),
    imported: z.number().int(),
    rejected: z.number().int(),
    startedAt: ZInstant,
    finishedAt: ZInstant.nullable(),
  })
  .meta({ id: 'MemberImport' });

const ZNotice = z.enum(['email', 'sms', 'alimtalk']).nullable().meta({
  description:
    'How the notice of an advertising consent change was sent (정보통신망법 §50 ⑦); null: nothing to tell, or no address.',
});
const ZConsentsChanged = ZMemberConsents.extend({ notice: ZNotice }).meta({ id: 'MemberConsentsChanged' });

const ZProvider = z.object({ provider: z.enum(SOCIAL_PROVIDERS) });
const ZRedirectUri = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .meta({ description: 'Where the provider sends the browser back, with code and state.' });
const ZSocialStart = z
  .object({
    state: z.string(),
    authorizeUrl: z.string().meta({ description: 'The provider page to send the browser to.' }),
    expiresAt: ZInstant,
  })
  .meta({ id: 'SocialStart' });
const ZSocialCallback = z
  .object({ state: z.string().max(100), code: z.string().max(500).optional(), error: z.string().max(100).optional() })
  .meta({ id: 'SocialCallback', description: 'What came back to the redirect URI: state and code, or state and error.' });
const ZSocialLinks = z.object({
  items: z.array(
    z.object({
      provider: z.string().meta({ description: SOCIAL_PROVIDERS.join(', ') }),
      linkedAt: ZInstant,
      lastLoginAt: ZInstant.nullable(),
    }),
  ),
});

/** /v1: sign-up, login and account recovery (the brand's app) and member lookups (its servers). */
export function memberRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const me = (req: FastifyRequest) => currentMember(deps, req);

    app.post('/members', {
      config: { scopes: SCOPES.app, permission: 'members:write', idempotency: 'optional' },
      schema: {
        tags: ['Members'],
        summary: 'Sign a member up (회원가입)',
        description:
          'Through a verified `signup` verification, or without one where the brand allows it. Rejections: ALREADY_MEMBER, ' +
          'REJOIN_BLOCKED, UNDER_AGE, LOGIN_ID_TAKEN, CONSENT_REQUIRED, VERIFICATION_REQUIRED, VERIFICATION_NOT_USABLE, or the ' +
          'failed verification’s own reason (PHONE_NOT_OWN_NAME, …).',
        body: ZSignUpRequest,
        response: { 201: ZMember, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.signUp({ ...deps, db }, tenantIdOf(req), req.body), { status: 201 }),
    });

    app.get('/members/policy', {
      config: { scopes: SCOPES.server, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'The brand’s member policy',
        response: { 200: ZMemberPolicy, ...problems(401, 403) },
      },
      handler: (req) => service.getPolicy(deps, tenantIdOf(req)),
    });

    app.put('/members/policy', {
      config: { scopes: SCOPES.server, permission: 'members:write', idempotency: 'optional' },
      schema: {
        tags: ['Members'],
        summary: 'Change the member policy (applies from now on)',
        body: ZMemberPolicy,
        response: { 200: ZMemberPolicy, ...problems(400, 401, 403) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.updatePolicy({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    app.get('/members', {
      config: { scopes: SCOPES.server, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'The brand’s members, newest first (personal data masked): by status, grade, join period, consent',
        querystring: ZMemberListQuery,
        response: { 200: ZPageOf(ZMember), ...problems(400, 401, 403) },
      },
      handler: (req) => service.listMembers(deps, tenantIdOf(req), req.query),
    });

    app.get('/members/:id', {
      config: { scopes: SCOPES.server, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'A member (personal data masked)',
        params: z.object({ id: ZMemberId }),
        response: { 200: ZMember, ...problems(401, 403, 404) },
      },
      handler: (req) => service.getMember(deps, tenantIdOf(req), req.params.id),
    });

    app.post('/members/:id/unmask', {
      config: { scopes: SCOPES.server, permission: 'members:pii', stepUp: true },
      schema: {
        tags: ['Members'],
        summary: 'A member’s personal data unmasked, with a reason (written to the personal-data access log)',
        description:
          'Operators need `members:pii` and a second factor within 15 minutes. Each call writes one row of the access log (who, when, IP, the member, the fields, the reason).',
        params: z.object({ id: ZMemberId }),
        body: ZUnmaskRequest,
        response: { 200: ZUnmaskedMember, ...problems(400, 401, 403, 404) },
      },
      handler: (req) =>
        service.unmaskMember(deps, tenantIdOf(req), req.params.id, {
          actorId: actorIdOf(req),
          ip: req.ip,
          reason: req.body.reason,
          requestId: req.id,
        }),
    });

    // The CSV body is streamed to the import, never held in memory.
    app.addContentTypeParser('text/csv', streamedBody);

    app.put('/members/imports/:importId', {
      config: { scopes: SCOPES.server, permission: 'members:write' },
      schema: {
        tags: ['Members'],
        summary: 'Import members from a CSV file (Content-Type: text/csv), streamed and resumable',
        description:
          `Header row first; columns ${imports.IMPORT_COLUMNS.join(', ')} in any order (login_id, name, phone required). ` +
          'Rows are committed in chunks of 1,000 with the import’s checkpoint: after an interruption, PUT the same file to the ' +
          'same import id and it resumes after the last committed chunk; after it finished, the summary comes back. Imported ' +
          'members have no password: they set one through a verified password reset. Rejected rows are listed under /rejects.',
        params: ZImportParams,
        response: { 200: ZImportSummary, ...problems(400, 401, 403, 409, 415) },
      },
      handler: (req) => {
        const body = req.body as Partial<AsyncIterable<Buffer>> | undefined;
        if (typeof body?.[Symbol.asyncIterator] !== 'function')
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the CSV file with Content-Type: text/csv.');
        return imports.importMembers(deps, tenantIdOf(req), req.params.importId, body as AsyncIterable<Buffer>, {
          fileName: (req.headers['x-file-name'] as string | undefined)?.slice(0, 200),
        });
      },
    });

    app.get('/members/imports/:importId', {
      config: { scopes: SCOPES.server, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'An import’s progress',
        params: ZImportParams,
        response: { 200: ZImportSummary, ...problems(401, 403, 404) },
      },
      handler: (req) => imports.getImport(deps, tenantIdOf(req), req.params.importId),
    });

    app.get('/members/imports/:importId/rejects', {
      config: { scopes: SCOPES.server, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'The rows an import rejected, with the reason, in row order',
        params: ZImportParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          cursor: z.coerce.number().int().min(0).optional(),
        }),
        response: {
          200: z.object({
            items: z.array(z.object({ row: z.number().int(), code: z.string(), message: z.string() })),
            nextCursor: z.string().nullable(),
          }),
          ...problems(400, 401, 403, 404),
        },
      },
      handler: (req) =>
        imports.importRejects(deps, tenantIdOf(req), req.params.importId, { limit: req.query.limit, after: req.query.cursor }),
    });

    app.post('/members/login', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Members'],
        summary: 'Log a member in by login ID and password',
        description:
          'INVALID_CREDENTIALS for a wrong ID or password alike; LOGIN_LOCKED after too many wrong passwords in a row (for unknown IDs too); RATE_LIMITED (with Retry-After) past the per-IP or per-login-ID rate; MEMBER_DORMANT.',
        body: ZLoginRequest,
        response: { 200: ZLoginResponse, ...problems(400, 401, 403, 423, 429) },
      },
      handler: (req) => sessions.login(deps, tenantIdOf(req), { ...req.body, userAgent: req.headers['user-agent'], ip: req.ip }),
    });

    app.post('/members/find-id', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Members'],
        summary: 'Find the login ID (아이디 찾기) through a `find_id` verification',
        body: ZFindIdRequest,
        response: { 200: ZFindIdResponse, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req) => service.findLoginId(deps, tenantIdOf(req), req.body.verificationId),
    });

    app.post('/members/password-reset', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional' },
      schema: {
        tags: ['Members'],
        summary: 'Reset the password through a `reset_password` verification (ends every session, lifts a lockout)',
        body: ZResetPasswordRequest,
        response: { 204: z.null(), ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(
          deps,
          req,
          reply,
          async (db) => {
            await service.resetPassword({ ...deps, db }, tenantIdOf(req), req.body);
            return null;
          },
          { status: 204 },
        ),
    });

    app.post('/members/reactivate', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Members'],
        summary: 'Reactivate a dormant account (휴면 해제) with its password and a `reactivate` verification; logs in',
        body: ZReactivateRequest,
        response: { 200: ZLoginResponse, ...problems(400, 401, 403, 409, 422, 423, 429) },
      },
      handler: (req) =>
        lifecycle.reactivate(deps, tenantIdOf(req), { ...req.body, userAgent: req.headers['user-agent'], ip: req.ip }),
    });

    app.get('/me/withdrawal', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'What withdrawing would take away (balances from the ledger) and when data is removed',
        response: { 200: ZWithdrawalPreview, ...problems(401, 403) },
      },
      handler: async (req) => lifecycle.withdrawalPreview(deps, tenantIdOf(req), (await me(req)).member),
    });

    app.post('/me/withdrawal', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Withdraw (회원 탈퇴): deactivates at once; personal data is removed after the policy’s days',
        body: ZWithdrawRequest,
        response: { 200: ZMember, ...problems(400, 401, 403) },
      },
      handler: async (req, reply) => {
        const { member } = await me(req);
        return idempotent(deps, req, reply, (db) =>
          lifecycle.withdraw({ ...deps, db }, tenantIdOf(req), member.id, req.body.reason),
        );
      },
    });

    app.post('/members/social/:provider/authorize', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Members'],
        summary:
          'Start an SNS login (Kakao, Naver, or the sandbox; as SOCIAL_PROVIDERS enables): the provider page and a single-use state (10 minutes)',
        params: ZProvider,
        body: z.object({ redirectUri: ZRedirectUri }),
        response: { 200: ZSocialStart, ...problems(400, 401, 403, 404) },
      },
      handler: (req) => social.startSocialLogin(deps, tenantIdOf(req), req.params.provider, req.body.redirectUri),
    });

    app.post('/members/social/:provider/login', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Members'],
        summary: 'Finish an SNS login: the code is exchanged with the provider, the linked member is logged in',
        description: 'SOCIAL_NOT_LINKED when no member is linked to the account: it is never linked by a matching e-mail.',
        params: ZProvider,
        body: ZSocialCallback,
        response: { 200: ZLoginResponse, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req) =>
        social.finishSocialLogin(deps, tenantIdOf(req), req.params.provider, {
          ...req.body,
          userAgent: req.headers['user-agent'],
        }),
    });

    app.get('/me/social', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: { tags: ['Members'], summary: 'The member’s SNS links', response: { 200: ZSocialLinks, ...problems(401, 403) } },
      handler: async (req) => ({ items: await social.listSocialLinks(deps, tenantIdOf(req), (await me(req)).member.id) }),
    });

    app.post('/me/social/:provider/authorize', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Start linking an SNS account: the member enters the password again (fresh authentication)',
        params: ZProvider,
        body: z.object({ redirectUri: ZRedirectUri, password: z.string().max(200) }),
        response: { 200: ZSocialStart, ...problems(400, 401, 403, 404, 423, 429) },
      },
      handler: async (req) =>
        social.startSocialLink(
          deps,
          tenantIdOf(req),
          await me(req),
          req.params.provider,
          req.body.redirectUri,
          req.body.password,
          req.ip,
        ),
    });

    app.post('/me/social/:provider', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Finish linking: the code is exchanged with the provider and the account linked to the member',
        params: ZProvider,
        body: ZSocialCallback,
        response: { 200: ZSocialLinks, ...problems(400, 401, 403, 409, 422) },
      },
      handler: async (req, reply) => {
        const auth = await me(req);
        // The code is exchanged with the provider before the transaction that links and stores the response.
        return idempotentSteps(deps, req, reply, {
          outside: () => social.exchangeSocialLink(deps, tenantIdOf(req), auth, req.params.provider, req.body),
          inside: async (db, account) => ({
            items: await social.linkSocialAccount({ ...deps, db }, tenantIdOf(req), auth, req.params.provider, account),
          }),
        });
      },
    });

    app.delete('/me/social/:provider', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Unlink an SNS account (refused when it is the member’s last way to log in)',
        params: ZProvider,
        response: { 200: ZSocialLinks, ...problems(401, 403, 404, 422) },
      },
      handler: async (req, reply) => {
        const auth = await me(req);
        return idempotent(deps, req, reply, async (db) => ({
          items: await social.unlinkSocial({ ...deps, db }, tenantIdOf(req), auth, req.params.provider),
        }));
      },
    });

    app.get('/me', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: { tags: ['Members'], summary: 'The logged-in member', response: { 200: ZMember, ...problems(401, 403) } },
      handler: async (req) => service.toMemberDto((await me(req)).member, deps),
    });

    app.patch('/me', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Change the nickname, the address or the e-mail (a new e-mail only after its confirmation link is opened)',
        description:
          'Nickname and address change at once. A new e-mail gets a single-use link (24 hours) to the brand’s page ' +
          '(the member policy’s `emailConfirmUrl`, `#token=…`), which posts it to POST /v1/me/email/confirm; until then the ' +
          'e-mail stays as it was, and a newer change replaces the link. CONFLICT (`rule: email_confirm_url_unset`) while the ' +
          'brand has not set that page. An empty patch is refused.',
        body: ZUpdateMeRequest,
        response: { 200: ZUpdateMeResponse, ...problems(400, 401, 403, 409) },
      },
      handler: async (req, reply) => {
        const { member } = await me(req);
        return idempotent(deps, req, reply, (db) => profile.updateMe({ ...deps, db }, tenantIdOf(req), member.id, req.body));
      },
    });

    app.post('/me/email/confirm', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Confirm a new e-mail with the token of the mailed link (once, within 24 hours, the member who asked)',
        description: 'EMAIL_LINK_NOT_USABLE (410) for a used, replaced, expired or unknown link, or another member’s.',
        body: ZConfirmEmailRequest,
        response: { 200: ZMember, ...problems(400, 401, 403, 410) },
      },
      handler: async (req, reply) => {
        const { member } = await me(req);
        return idempotent(deps, req, reply, (db) =>
          profile.confirmEmail({ ...deps, db }, tenantIdOf(req), member.id, req.body.token),
        );
      },
    });

    app.post('/me/password', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Change the password with the current one (ends the member’s other sessions)',
        description:
          'The current password is checked like a login: a wrong one counts toward the lockout (INVALID_CREDENTIALS, then ' +
          'LOGIN_LOCKED with Retry-After) and the secret rate limits (RATE_LIMITED). The new one follows the sign-up rules ' +
          '(400 on `newPassword`). Not idempotent on purpose: the attempt is counted outside any transaction, so a retry is a new attempt.',
        body: ZChangePasswordRequest,
        response: { 204: z.null(), ...problems(400, 401, 403, 423, 429) },
      },
      handler: async (req, reply) => {
        await profile.changePassword(deps, tenantIdOf(req), await me(req), { ...req.body, ip: req.ip });
        return reply.code(204).send(null);
      },
    });

    app.get('/me/consents', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'The member’s consents now and every change (time, channel, operator and reason), oldest first',
        response: { 200: ZMemberConsents, ...problems(401, 403) },
      },
      handler: async (req) => {
        const { member } = await me(req);
        return consents.getConsents(deps, tenantIdOf(req), member.id);
      },
    });

    app.put('/me/consents', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Grant or withdraw advertising consents by channel and night-time sending; agree again to revised terms',
        description:
          'Consents left out are unchanged; only what changes is recorded (one history row each). A change of an advertising ' +
          'consent (a channel or night-time) is told to the member with its date and content, as 정보통신망법 §50 ⑦ requires: ' +
          'by e-mail when the member has one, else by AlimTalk or SMS.',
        body: ZMyConsentsChange,
        response: { 200: ZConsentsChanged, ...problems(400, 401, 403) },
      },
      handler: async (req, reply) => {
        const { member } = await me(req);
        return idempotent(deps, req, reply, (db) =>
          consents.changeConsents({ ...deps, db }, tenantIdOf(req), member.id, req.body, {
            kind: 'member',
            channel: req.body.channel,
          }),
        );
      },
    });

    app.get('/members/:id/consents', {
      config: { scopes: SCOPES.server, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'A member’s consents now and every change, oldest first',
        params: z.object({ id: ZMemberId }),
        response: { 200: ZMemberConsents, ...problems(401, 403, 404) },
      },
      handler: (req) => consents.getConsents(deps, tenantIdOf(req), req.params.id),
    });

    app.put('/members/:id/consents', {
      config: { scopes: SCOPES.server, permission: 'members:write', idempotency: 'optional' },
      schema: {
        tags: ['Members'],
        summary: 'Change a member’s consents for them: an operator (with a reason) or the brand’s server (naming the channel)',
        description:
          'An operator’s change is recorded with channel `operator`, the operator and the reason (at least 5 characters; ' +
          '400 on `reason` without one). A server key names where the change was made (`channel`: app, web, pos or import). ' +
          'The member is told of a change of an advertising consent, as on PUT /v1/me/consents.',
        params: z.object({ id: ZMemberId }),
        body: ZMemberConsentsChange,
        response: { 200: ZConsentsChanged, ...problems(400, 401, 403, 404) },
      },
      handler: (req, reply) => {
        const a = req.auth;
        const actor: consents.ConsentActor =
          a?.kind === 'operator'
            ? { kind: 'operator', operatorId: a.operatorId, reason: req.body.reason }
            : { kind: 'server', channel: req.body.channel, reason: req.body.reason };
        return idempotent(deps, req, reply, (db) =>
          consents.changeConsents({ ...deps, db }, tenantIdOf(req), req.params.id, req.body, actor),
        );
      },
    });

    app.post('/me/phone', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'Change the phone number through a `change_phone` verification of the member',
        body: ZChangePhoneRequest,
        response: { 200: ZMember, ...problems(400, 401, 403, 409, 422) },
      },
      handler: async (req, reply) => {
        const { member } = await me(req);
        return idempotent(deps, req, reply, (db) =>
          service.changePhone({ ...deps, db }, tenantIdOf(req), member.id, req.body.verificationId),
        );
      },
    });

    app.get('/me/sessions', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'The member’s open sessions',
        response: { 200: z.object({ items: z.array(ZSession) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await sessions.listSessions(deps, tenantIdOf(req), await me(req)) }),
    });

    app.delete('/me/sessions/:sessionId', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'End one of the member’s sessions (its own: log out)',
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

/** The sandbox OAuth provider's authorize page (public, like a real provider's); mounted only with SOCIAL_PROVIDERS=sandbox. */
export function socialSandboxRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const html = htmlForms(app);
    const query = z.object({ state: z.string().max(100), redirect_uri: z.string().max(2000), response_type: z.literal('code') });
    const allowBack = (redirectUri: string) => `'self' ${URL.canParse(redirectUri) ? new URL(redirectUri).origin : ''}`;

    app.get('/sandbox/oauth/authorize', { schema: { hide: true, querystring: query } }, async (req, reply) => {
      try {
        await checkAuthorize(deps, req.query);
        return html(reply, 200, authorizePageHtml(req.query), allowBack(req.query.redirect_uri));
      } catch (err) {
        if (!isAppError(err)) throw err;
        return html(reply, err.status, socialErrorHtml(err.message));
      }
    });

    app.post(
      '/sandbox/oauth/authorize',
      { schema: { hide: true, body: z.record(z.string(), z.string()) } },
      async (req, reply) => {
        const body = req.body as AuthorizeSubmission;
        try {
          return reply
            .code(303)
            .header('location', await submitAuthorize(deps, body))
            .send();
        } catch (err) {
          if (!isAppError(err)) throw err;
          if (err.code !== 'VALIDATION_FAILED') return html(reply, err.status, socialErrorHtml(err.message));
          return html(reply, 422, authorizePageHtml(body, err.message), allowBack(body.redirect_uri));
        }
      },
    );
  };
}
