import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import {
  type TCreationOptions,
  type TRequestOptions,
  ZAuthenticationResponse,
  ZCreationOptions,
  ZPasskey,
  ZPasskeyRegistration,
  ZRequestOptions,
} from './operator-passkeys.schemas.ts';
import * as passkeys from './operator-passkeys.service.ts';
import { sessionCookie, setSessionCookie } from './operator-session.cookie.ts';
import { authenticateOperator, type NewSession } from './operator-sessions.service.ts';
import { ZSessionState } from './operators.schemas.ts';

// /auth passkey routes, registered inside operatorAuthRoutes (its transport and CSRF checks hold).

const cookieSecurity = [{ operatorSession: [] }];

/** The short cookie a passkey sign-in's challenge is bound to (there is no session yet). */
export const PASSKEY_COOKIE = '__Host-moa_passkey';

function passkeyCookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === PASSKEY_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The relying party: MOA_CONSOLE_ORIGIN, or the origin this request came to (as the CSRF check reads it). */
export function relyingParty(deps: Pick<Deps, 'config'>, req: FastifyRequest): passkeys.RelyingParty {
  // Through URL: a Host header naming the default port (localhost:80) is the origin without it.
  const url = new URL(deps.config.consoleOrigin ?? `${req.protocol}://${req.host}`);
  return { id: url.hostname, origin: url.origin };
}

const sessionOf = (deps: Deps, req: FastifyRequest) => authenticateOperator(deps, sessionCookie(req));

function answer(reply: FastifyReply, s: NewSession) {
  setSessionCookie(reply, s.token, s.expiresAt);
  return { stage: s.stage, expiresAt: s.expiresAt.toISOString() };
}

export function operatorPasskeyRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/passkeys/options', {
      schema: {
        summary: 'Start registering a passkey: the options for navigator.credentials.create()',
        description:
          'Needs a signed-in session with a second factor in the last 15 minutes (else 403 STEP_UP_REQUIRED). The challenge is bound to the session, single use, valid 5 minutes. Passkeys are discoverable and verify their user (PIN or biometrics).',
        security: cookieSecurity,
        response: { 200: ZCreationOptions, ...problems(401, 403) },
      },
      handler: async (req) =>
        (await passkeys.registrationOptions(
          deps,
          await sessionOf(deps, req),
          relyingParty(deps, req),
        )) as unknown as TCreationOptions,
    });
    app.post('/passkeys', {
      schema: {
        summary: 'Finish registering a passkey with what navigator.credentials.create() returned',
        security: cookieSecurity,
        body: ZPasskeyRegistration,
        response: { 201: ZPasskey, ...problems(400, 401, 403, 422) },
      },
      handler: async (req, reply) => {
        const auth = await sessionOf(deps, req);
        const passkey = await passkeys.registerPasskey(deps, auth, req.body.response as RegistrationResponseJSON, req.body.name);
        return reply.code(201).send(passkey);
      },
    });
    app.get('/passkeys', {
      schema: {
        summary: 'The signed-in operator’s passkeys',
        security: cookieSecurity,
        response: { 200: z.object({ items: z.array(ZPasskey) }), ...problems(401) },
      },
      handler: async (req) => ({ items: await passkeys.listPasskeys(deps, await sessionOf(deps, req)) }),
    });
    app.delete('/passkeys/:passkeyId', {
      schema: {
        summary: 'Remove one of the signed-in operator’s passkeys (needs a second factor in the last 15 minutes)',
        security: cookieSecurity,
        params: z.object({ passkeyId: z.string().max(40) }),
        response: { 204: z.null(), ...problems(401, 403, 404) },
      },
      handler: async (req, reply) => {
        await passkeys.removePasskey(deps, await sessionOf(deps, req), req.params.passkeyId);
        return reply.code(204).send(null);
      },
    });

    app.post('/passkey/options', {
      schema: {
        summary: 'A passkey as the second factor or for step-up: the options for navigator.credentials.get()',
        description:
          'For the session’s operator (after the password, or signed in for a step-up); bound to the session, single use, valid 5 minutes. 404 when the operator has no passkey for this console.',
        security: cookieSecurity,
        response: { 200: ZRequestOptions, ...problems(401, 404) },
      },
      handler: async (req) =>
        (await passkeys.authenticationOptions(
          deps,
          await sessionOf(deps, req),
          relyingParty(deps, req),
        )) as unknown as TRequestOptions,
    });
    app.post('/passkey', {
      schema: {
        summary: 'Finish step 2 (or a step-up) with what navigator.credentials.get() returned',
        description:
          'The signature counter must be higher than the last one accepted (or stay 0): a lower one is refused as a cloned authenticator (401 INVALID_CREDENTIALS, `details.reason: counter`). The session gets a new id.',
        security: cookieSecurity,
        body: ZAuthenticationResponse,
        response: { 200: ZSessionState, ...problems(400, 401, 429) },
      },
      handler: async (req, reply) =>
        answer(
          reply,
          await passkeys.verifyPasskey(deps, await sessionOf(deps, req), req.body as AuthenticationResponseJSON, req.ip),
        ),
    });

    app.post('/passkey-sign-in/options', {
      schema: {
        summary: 'Sign in with a passkey alone: the options for navigator.credentials.get()',
        description: `No e-mail: the browser offers the passkeys it holds for this console. The challenge is bound to the short cookie \`${PASSKEY_COOKIE}\` (5 minutes).`,
        response: { 200: ZRequestOptions, ...problems(429) },
      },
      handler: async (req, reply) => {
        const r = await passkeys.signInOptions(deps, relyingParty(deps, req), req.ip);
        reply.header(
          'set-cookie',
          `${PASSKEY_COOKIE}=${r.token}; Path=/; Secure; HttpOnly; SameSite=Strict; Expires=${r.expiresAt.toUTCString()}`,
        );
        return r.options as unknown as TRequestOptions;
      },
    });
    app.post('/passkey-sign-in', {
      schema: {
        summary: 'Sign in with a passkey that verified its user (PIN or biometrics): both factors at once',
        description:
          'Sets the session cookie `__Host-moa_operator`, signed in. The authenticator must report user verification; the signature counter must increase (or stay 0).',
        body: ZAuthenticationResponse,
        response: { 200: ZSessionState, ...problems(400, 401, 403, 429) },
      },
      handler: async (req, reply) => {
        const token = passkeyCookie(req);
        // The challenge is single use, whatever the outcome: the cookie goes with it.
        reply.header('set-cookie', `${PASSKEY_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
        const s = await passkeys.signInWithPasskey(deps, token, req.body as AuthenticationResponseJSON, {
          ip: req.ip,
          userAgent: req.headers['user-agent'],
        });
        return answer(reply, s);
      },
    });
  };
}
