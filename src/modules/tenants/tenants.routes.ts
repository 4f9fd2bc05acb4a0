import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import {
  ZApiKey,
  ZCreateApiKeyRequest,
  ZCreatedApiKey,
  ZCreateTenantRequest,
  ZListQuery,
  ZSetTenantStatusRequest,
  ZTenant,
  ZTenantId,
  ZTenantList,
  ZUpdateTenantRequest,
} from './tenants.schemas.ts';
import * as service from './tenants.service.ts';

/** /v1: the tenant of the calling API key. */
export function tenantRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/tenant', {
      config: { scopes: SCOPES.all, permission: 'tenant:read' },
      schema: {
        tags: ['Tenant'],
        summary: 'The tenant (brand) the API key belongs to',
        response: { 200: ZTenant, ...problems(401, 403) },
      },
      handler: (req) => service.getTenant(deps, tenantIdOf(req)),
    });

    app.patch('/tenant', {
      config: { scopes: SCOPES.server, permission: 'tenant:admin', idempotency: 'optional' },
      schema: {
        tags: ['Tenant'],
        summary: 'Change the tenant’s name, time zone or locale',
        body: ZUpdateTenantRequest,
        response: { 200: ZTenant, ...problems(400, 401, 403, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.updateTenant({ ...deps, db }, tenantIdOf(req), req.body)),
    });
  };
}

const ZTenantParams = z.object({ tenantId: ZTenantId });

/** /platform/v1: the platform operator creates tenants and manages their keys. */
export function platformTenantRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/tenants', {
      config: { idempotency: 'optional' },
      schema: {
        tags: ['Platform'],
        summary: 'Create a tenant (one per business registration number)',
        body: ZCreateTenantRequest,
        response: { 201: ZTenant, ...problems(400, 401, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.createTenant({ ...deps, db }, req.body), { status: 201 }),
    });

    app.get('/tenants', {
      schema: {
        tags: ['Platform'],
        summary: 'List tenants, newest first',
        querystring: ZListQuery,
        response: { 200: ZTenantList, ...problems(400, 401) },
      },
      handler: (req) => service.listTenants(deps, req.query),
    });

    app.get('/tenants/:tenantId', {
      schema: {
        tags: ['Platform'],
        summary: 'One tenant',
        params: ZTenantParams,
        response: { 200: ZTenant, ...problems(401, 404) },
      },
      handler: (req) => service.getTenant(deps, req.params.tenantId),
    });

    app.put('/tenants/:tenantId/status', {
      schema: {
        tags: ['Platform'],
        summary: 'Suspend, close or reactivate a tenant (a non-active tenant’s keys stop working)',
        params: ZTenantParams,
        body: ZSetTenantStatusRequest,
        response: { 200: ZTenant, ...problems(400, 401, 404) },
      },
      handler: (req) => service.setTenantStatus(deps, req.params.tenantId, req.body.status),
    });

    app.post('/tenants/:tenantId/api-keys', {
      config: { idempotency: 'optional' },
      schema: {
        tags: ['Platform'],
        summary: 'Create an API key (the key is in this response only)',
        description:
          'With an Idempotency-Key, a retry returns the same key: the stored response is sealed under the master key, never kept in plaintext. Without one, a retry creates another key.',
        params: ZTenantParams,
        body: ZCreateApiKeyRequest,
        response: { 201: ZCreatedApiKey, ...problems(400, 401, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.createApiKey({ ...deps, db }, req.params.tenantId, req.body), {
          status: 201,
          secret: true,
        }),
    });

    app.get('/tenants/:tenantId/api-keys', {
      schema: {
        tags: ['Platform'],
        summary: 'List a tenant’s API keys (prefix and last use, never the secret)',
        params: ZTenantParams,
        response: { 200: z.object({ items: z.array(ZApiKey) }), ...problems(401, 404) },
      },
      handler: async (req) => ({ items: await service.listApiKeys(deps, req.params.tenantId) }),
    });

    app.delete('/tenants/:tenantId/api-keys/:keyId', {
      schema: {
        tags: ['Platform'],
        summary: 'Revoke an API key (at once, in every process)',
        params: ZTenantParams.extend({ keyId: z.string().max(64) }),
        response: { 200: ZApiKey, ...problems(401, 404) },
      },
      handler: (req) => service.revokeApiKey(deps, req.params.tenantId, req.params.keyId),
    });
  };
}
