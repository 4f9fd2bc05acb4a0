import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { isAppError } from '../../platform/errors.ts';
import { htmlForms } from '../../platform/http.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { getTenant } from '../tenants/index.ts';
import { sandboxErrorHtml, sandboxFormHtml } from './identity.sandbox.page.ts';
import { type SandboxSubmission, sandboxRequest, submitSandbox } from './identity.sandbox.ts';
import {
  ZGrantUnitsRequest,
  ZStartVerificationRequest,
  ZVerification,
  ZVerificationId,
  ZVerificationUnits,
} from './identity.schemas.ts';
import * as service from './identity.service.ts';

const ZParams = z.object({ id: ZVerificationId });

/** /v1: the brand's app and servers start verifications and fetch their results. */
export function identityRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/identity/verifications', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional' },
      schema: {
        tags: ['Identity'],
        summary: 'Start an identity verification (본인확인)',
        description:
          'Returns a single-use request number and the provider page to send the person to. A live verification holds one ' +
          'VERIFICATION unit until it settles: used on success, released on failure. With no unit left: 422 VERIFICATION_QUOTA_EXHAUSTED.',
        body: ZStartVerificationRequest,
        response: { 201: ZVerification, ...problems(400, 401, 403, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.startVerification({ ...deps, db }, tenantIdOf(req), req.body), {
          status: 201,
        }),
    });

    app.get('/identity/verifications/:id', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Identity'],
        summary: 'A verification as it stands (no call to the provider)',
        params: ZParams,
        response: { 200: ZVerification, ...problems(401, 403, 404) },
      },
      handler: (req) => service.getVerification(deps, tenantIdOf(req), req.params.id),
    });

    app.post('/identity/verifications/:id/complete', {
      config: { scopes: SCOPES.app, permission: false },
      schema: {
        tags: ['Identity'],
        summary: 'Fetch the result from the provider and settle the verification',
        description:
          'Call it when the person’s browser comes back to the return URL. Moa asks the provider server to server; nothing the ' +
          'browser carries is trusted. Still pending while the person has time left; afterwards verified, or failed with a `reason` ' +
          '(PHONE_NOT_OWN_NAME, CORPORATE_PHONE, PREPAID_PHONE, UNDER_AGE, VERIFICATION_CANCELLED, VERIFICATION_TIMED_OUT, ' +
          'PROVIDER_ERROR). Safe to repeat: a settled verification stays as it is.',
        params: ZParams,
        response: { 200: ZVerification, ...problems(401, 403, 404) },
      },
      handler: (req) => service.completeVerification(deps, tenantIdOf(req), req.params.id),
    });

    app.get('/identity/units', {
      config: { scopes: SCOPES.server, permission: 'identity:admin' },
      schema: {
        tags: ['Identity'],
        summary: 'Verification units: available, held, used, and free preview verifications',
        response: { 200: ZVerificationUnits, ...problems(401, 403) },
      },
      handler: (req) => service.verificationUnits(deps, tenantIdOf(req)),
    });
  };
}

/** /platform/v1: units are granted by the platform until tenant billing sells them. */
export function platformIdentityRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/tenants/:tenantId/verification-units', {
      config: { idempotency: 'required' },
      schema: {
        tags: ['Platform'],
        summary: 'Grant verification units to a tenant',
        params: z.object({ tenantId: z.string() }),
        body: ZGrantUnitsRequest,
        response: { 200: ZVerificationUnits, ...problems(400, 401, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.grantVerificationUnits({ ...deps, db }, req.params.tenantId, req.body)),
    });
  };
}

/**
 * The sandbox provider's page (public, like a real provider's): GET shows it, POST records the
 * tester's choice and sends the browser back to the brand's return URL.
 */
export function sandboxRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const html = htmlForms(app);
    const params = z.object({ requestNo: z.string().max(64) });

    const failure = (reply: FastifyReply, err: unknown) => {
      if (!isAppError(err)) throw err;
      return html(reply, err.status, sandboxErrorHtml(err.message));
    };

    const form = async (reply: FastifyReply, requestNo: string, status: number, error?: string) => {
      const v = await sandboxRequest(deps, requestNo);
      const tenant = await getTenant(deps, v.tenant_id);
      return html(reply, status, sandboxFormHtml(v, tenant.name, error), `'self' ${new URL(v.return_url).origin}`);
    };

    app.get('/sandbox/identity/:requestNo', { schema: { hide: true, params } }, async (req, reply) => {
      try {
        return await form(reply, req.params.requestNo, 200);
      } catch (err) {
        return failure(reply, err);
      }
    });

    app.post(
      '/sandbox/identity/:requestNo',
      { schema: { hide: true, params, body: z.record(z.string(), z.string()) } },
      async (req, reply) => {
        try {
          const to = await submitSandbox(deps, req.params.requestNo, req.body as SandboxSubmission);
          return reply.code(303).header('location', to).send();
        } catch (err) {
          if (isAppError(err) && err.code === 'VALIDATION_FAILED') return form(reply, req.params.requestNo, 422, err.message);
          return failure(reply, err);
        }
      },
    );
  };
}
