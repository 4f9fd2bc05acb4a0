import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent, idempotentSteps } from '../../platform/idempotency.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import {
  ZAttemptList,
  ZAttemptsQuery,
  ZCreateEndpoint,
  ZEndpoint,
  ZEndpointId,
  ZEndpointWithSecret,
  ZEventTypeList,
  ZReplayRequest,
  ZReplayResult,
  ZUpdateEndpoint,
} from './webhooks.schemas.ts';
import * as service from './webhooks.service.ts';

const ZParams = z.object({ id: ZEndpointId });
const admin = { scopes: SCOPES.server, permission: 'webhooks:admin' } as const;
const tags = ['Webhooks'];

/** /v1/webhooks: the brand's endpoints (server keys, or operators with webhooks:admin). */
export function webhookRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/webhooks/event-types', {
      config: admin,
      schema: {
        tags,
        summary: 'The event types an endpoint can receive (their payloads: the `webhooks` section of this document)',
        response: { 200: ZEventTypeList, ...problems(401, 403) },
      },
      handler: async () => service.eventTypes(),
    });

    app.post('/webhooks/endpoints', {
      config: { ...admin, idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Create an endpoint (its signing secret is in this response only)',
        description:
          'The URL must be https:// and its host must resolve only to public addresses (checked now and again at every delivery). With an Idempotency-Key a retry returns the same secret (the stored response is sealed).',
        body: ZCreateEndpoint,
        response: { 201: ZEndpointWithSecret, ...problems(400, 401, 403, 409, 422) },
      },
      handler: (req, reply) =>
        idempotentSteps(
          deps,
          req,
          reply,
          {
            outside: () => service.checkUrl(deps, req.body.url),
            inside: (db) => service.createEndpoint({ ...deps, db }, tenantIdOf(req), req.body),
          },
          { status: 201, secret: true },
        ),
    });

    app.get('/webhooks/endpoints', {
      config: admin,
      schema: {
        tags,
        summary: 'The endpoints',
        response: { 200: z.object({ items: z.array(ZEndpoint) }), ...problems(401, 403) },
      },
      handler: (req) => service.listEndpoints(deps, tenantIdOf(req)),
    });

    app.get('/webhooks/endpoints/:id', {
      config: admin,
      schema: { tags, summary: 'One endpoint', params: ZParams, response: { 200: ZEndpoint, ...problems(400, 401, 403, 404) } },
      handler: (req) => service.getEndpoint(deps, tenantIdOf(req), req.params.id),
    });

    app.patch('/webhooks/endpoints/:id', {
      config: { ...admin, idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Change an endpoint’s URL, event types or description',
        params: ZParams,
        body: ZUpdateEndpoint,
        response: { 200: ZEndpoint, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotentSteps(deps, req, reply, {
          outside: async () => (req.body.url === undefined ? undefined : service.checkUrl(deps, req.body.url)),
          inside: (db) => service.updateEndpoint({ ...deps, db }, tenantIdOf(req), req.params.id, req.body),
        }),
    });

    for (const [action, status] of [
      ['disable', 'disabled'],
      ['enable', 'enabled'],
    ] as const) {
      app.post(`/webhooks/endpoints/:id/${action}`, {
        config: { ...admin, idempotency: 'optional' },
        schema: {
          tags,
          summary:
            action === 'enable'
              ? 'Enable an endpoint: what queued up while it was disabled is sent, in order'
              : 'Disable an endpoint: nothing is sent to it, new events are not queued for it',
          params: ZParams,
          response: { 200: ZEndpoint, ...problems(400, 401, 403, 404, 422) },
        },
        handler: (req, reply) =>
          idempotent(deps, req, reply, (db) =>
            service.setEndpointStatus({ ...deps, db }, tenantIdOf(req), req.params.id, status),
          ),
      });
    }

    app.delete('/webhooks/endpoints/:id', {
      config: admin,
      schema: {
        tags,
        summary: 'Delete an endpoint, with its messages and attempts',
        params: ZParams,
        response: { 204: z.null(), ...problems(400, 401, 403, 404) },
      },
      handler: async (req, reply) => {
        await service.deleteEndpoint(deps, tenantIdOf(req), req.params.id);
        return reply.code(204).send(null);
      },
    });

    app.post('/webhooks/endpoints/:id/rotate-secret', {
      config: { ...admin, idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Rotate the signing secret (the old one keeps signing, as a second signature, for 24 hours)',
        params: ZParams,
        response: { 200: ZEndpointWithSecret, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.rotateSecret({ ...deps, db }, tenantIdOf(req), req.params.id), {
          secret: true,
        }),
    });

    app.get('/webhooks/endpoints/:id/attempts', {
      config: admin,
      schema: {
        tags,
        summary: 'Delivery attempts, newest first (status, latency, the first 1 KB of the response)',
        params: ZParams,
        querystring: ZAttemptsQuery,
        response: { 200: ZAttemptList, ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.listAttempts(deps, tenantIdOf(req), req.params.id, req.query),
    });

    app.post('/webhooks/endpoints/:id/replay', {
      config: { ...admin, idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Send one message again (same webhook-id), or the messages of a time range',
        params: ZParams,
        body: ZReplayRequest,
        response: { 200: ZReplayResult, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.replay({ ...deps, db }, tenantIdOf(req), req.params.id, req.body)),
    });

    app.post('/webhooks/endpoints/:id/test', {
      config: { ...admin, idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Send a `webhook.test` event to this endpoint (through the outbox, like any event)',
        params: ZParams,
        response: { 202: z.object({ queued: z.literal(true) }), ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.sendTestEvent({ ...deps, db }, tenantIdOf(req), req.params.id), {
          status: 202,
        }),
    });
  };
}
