import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import * as codes from './operator-codes.service.ts';
import { sessionCookie, setSessionCookie } from './operator-session.cookie.ts';
import { authenticateOperator, type NewSession } from './operator-sessions.service.ts';
import { ZSessionState } from './operators.schemas.ts';

// /auth routes for codes by SMS or AlimTalk, the registered phone, and emergency e-mail recovery.
// Registered inside operatorAuthRoutes: the same HTTPS and CSRF checks and tags apply.

const cookieSecurity = [{ operatorSession: [] }];
const ZChannel = z.enum(['sms', 'alimtalk']).default('sms').meta({ description: 'sms, or KakaoTalk AlimTalk (알림톡).' });
const ZSixDigits = z.object({ code: z.string().trim().min(6).max(6).meta({ example: '123456' }) });
const ZSentCode = z
  .object({
    channel: z.enum(['sms', 'alimtalk']),
    to: z.string().meta({ description: 'The phone it went to, masked.', example: '010-****-5678' }),
    expiresAt: z.string().meta({ description: 'The code works until then (5 minutes), for 5 attempts.' }),
    resendAfter: z.string().meta({ description: 'Another code can be asked for from then (60 seconds).' }),
    resendAfterSeconds: z
      .number()
      .int()
      .meta({ description: 'The same, in seconds from now (for a countdown on a device whose clock is off).' }),
  })
  .meta({ id: 'OperatorSentCode' });
const ZPhone = z
  .object({
    phone: z.string().nullable().meta({ description: 'The registered phone, masked; null: none.' }),
    channels: z.array(z.enum(['sms', 'alimtalk'])).meta({ description: 'How codes can be sent on this server (empty: off).' }),
  })
  .meta({ id: 'OperatorPhone' });

const sessionOf = (deps: Deps, req: FastifyRequest) => authenticateOperator(deps, sessionCookie(req));

function answer(reply: FastifyReply, s: NewSession) {
  setSessionCookie(reply, s.token, s.expiresAt);
  return { stage: s.stage, expiresAt: s.expiresAt.toISOString() };
}

export function operatorCodeRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/phone-code', {
      schema: {
        summary: 'Send a 6-digit code to the registered phone by SMS or AlimTalk (sign-in step 2, or a step-up)',
        description:
          'From the password step or a signed-in session. One code at a time: a new one replaces the last, no sooner than 60 seconds after it (429 with Retry-After); daily caps per phone and per brand.',
        security: cookieSecurity,
        body: z.object({ channel: ZChannel }),
        response: { 200: ZSentCode, ...problems(400, 401, 409, 429) },
      },
      handler: async (req) => codes.requestSignInCode(deps, await sessionOf(deps, req), req.body.channel, req.ip),
    });
    app.post('/phone-code/verify', {
      schema: {
        summary: 'Sign in (step 2) or step up with the code sent to the phone',
        description:
          'The session gets a new id (cookie). A wrong, expired or used code, and a locked operator, get the same 401 INVALID_CREDENTIALS; 5 wrong codes lock codes for 15 minutes.',
        security: cookieSecurity,
        body: ZSixDigits,
        response: { 200: ZSessionState, ...problems(400, 401, 429) },
      },
      handler: async (req, reply) =>
        answer(reply, await codes.verifySignInCode(deps, await sessionOf(deps, req), req.body.code, req.ip)),
    });
    app.get('/phone', {
      schema: {
        summary: 'The registered phone (masked) and the channels codes can go by',
        security: cookieSecurity,
        response: { 200: ZPhone, ...problems(401) },
      },
      handler: async (req) => codes.phoneOf(deps, await sessionOf(deps, req)),
    });
    app.post('/phone', {
      schema: {
        summary: 'Set or change the phone, step 1: a code to the new number (needs a second factor within 15 minutes)',
        security: cookieSecurity,
        body: z.object({ phone: z.string().trim().min(10).max(20).meta({ example: '010-1234-5678' }), channel: ZChannel }),
        response: { 200: ZSentCode, ...problems(400, 401, 403, 409, 429) },
      },
      handler: async (req) => codes.requestPhoneChange(deps, await sessionOf(deps, req), req.body, req.ip),
    });
    app.post('/phone/confirm', {
      schema: {
        summary: 'Set or change the phone, step 2: the code that reached the new number',
        security: cookieSecurity,
        body: ZSixDigits,
        response: { 200: ZPhone, ...problems(400, 401, 403, 429) },
      },
      handler: async (req) => codes.confirmPhoneChange(deps, await sessionOf(deps, req), req.body.code, req.ip),
    });
    app.delete('/phone', {
      schema: {
        summary: 'Remove the registered phone (needs a second factor within 15 minutes)',
        security: cookieSecurity,
        response: { 204: z.null(), ...problems(401, 403) },
      },
      handler: async (req, reply) => {
        await codes.removePhone(deps, await sessionOf(deps, req));
        return reply.code(204).send(null);
      },
    });
    app.post('/recovery/email', {
      schema: {
        summary: 'Emergency recovery when the phone is not at hand: a single-use link to the registered e-mail',
        description:
          'From the password step only. The link is valid 30 minutes, once; a new request replaces it. Three a day per operator, and the per-IP limits.',
        security: cookieSecurity,
        response: {
          200: z.object({
            sentTo: z.string().meta({ description: 'The e-mail it went to, masked.' }),
            expiresAt: z.string(),
          }),
          ...problems(401, 409, 429),
        },
      },
      handler: async (req) =>
        codes.requestEmailRecovery(deps, await sessionOf(deps, req), { ip: req.ip, linkBase: `${req.protocol}://${req.host}` }),
    });
    app.post('/recovery/email/confirm', {
      schema: {
        summary: 'Use the emergency link: every second factor is removed; the session can only enrol a new one',
        description:
          'The token is the `#recovery=` part of the link (the console posts it; the fragment never reaches a server or a mail scanner). Every other session of the operator ends; the other owners and admins are told by e-mail.',
        body: z.object({ token: z.string().min(10).max(100) }),
        response: { 200: ZSessionState, ...problems(400, 410) },
      },
      handler: async (req, reply) =>
        answer(reply, await codes.useEmailRecovery(deps, req.body.token, { ip: req.ip, userAgent: req.headers['user-agent'] })),
    });
  };
}
