import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems, ZInstant } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { ZPageOf, ZPageQuery } from '../../platform/pages.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { ZDevice, ZManager, ZManagerLogin, ZManagerRequest, ZStore, ZStoreRequest, ZStoreUpdate } from './stores.schemas.ts';
import * as service from './stores.service.ts';

const tags = ['Stores'];
const ZStoreParams = z.object({ storeId: z.string().max(40) });

/** /v1: stores, store managers and stamp devices (servers), and the store managers' login. */
export function storeRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/stores', {
      config: { scopes: SCOPES.all, permission: 'stores:read' },
      schema: {
        tags,
        summary: 'The brand’s stores, in the order they were registered',
        querystring: ZPageQuery.extend({ status: ZStore.shape.status.optional() }),
        response: { 200: ZPageOf(ZStore), ...problems(400, 401, 403) },
      },
      handler: (req) => service.listStores(deps, tenantIdOf(req), req.query),
    });
    app.post('/stores', {
      config: { scopes: SCOPES.server, permission: 'stores:write', idempotency: 'optional' },
      schema: { tags, summary: 'Add a store', body: ZStoreRequest, response: { 201: ZStore, ...problems(400, 401, 403, 409) } },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.createStore({ db }, tenantIdOf(req), req.body), { status: 201 }),
    });
    app.patch('/stores/:storeId', {
      config: { scopes: SCOPES.server, permission: 'stores:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Change a store (name, address, region, status)',
        params: ZStoreParams,
        body: ZStoreUpdate,
        response: { 200: ZStore, ...problems(400, 401, 403, 404) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.updateStore({ db }, tenantIdOf(req), req.params.storeId, req.body)),
    });
    app.put('/stores/:storeId/devices/:serial', {
      config: { scopes: SCOPES.server, permission: 'stores:write' },
      schema: {
        tags,
        summary: 'Register a stamp device to the store (a device belongs to exactly one store: DEVICE_ALREADY_REGISTERED)',
        params: ZStoreParams.extend({ serial: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/) }),
        response: { 200: ZDevice, ...problems(401, 403, 404, 409, 422) },
      },
      handler: (req) => service.registerDevice(deps, tenantIdOf(req), req.params.storeId, req.params.serial),
    });
    app.delete('/stores/:storeId/devices/:serial', {
      config: { scopes: SCOPES.server, permission: 'stores:write' },
      schema: {
        tags,
        summary: 'Unregister a stamp device',
        params: ZStoreParams.extend({ serial: z.string().max(40) }),
        response: { 204: z.null(), ...problems(401, 403, 404) },
      },
      handler: async (req, reply) => {
        await service.unregisterDevice(deps, tenantIdOf(req), req.params.storeId, req.params.serial);
        reply.code(204).send(null);
      },
    });
    app.post('/store-managers', {
      config: { scopes: SCOPES.server, permission: 'stores:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Add a store manager (one account per person) registered to stores',
        body: ZManagerRequest,
        response: { 201: ZManager, ...problems(400, 401, 403, 404, 409) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.createManager({ db }, tenantIdOf(req), req.body), { status: 201 }),
    });
    app.put('/store-managers/:managerId/stores', {
      config: { scopes: SCOPES.server, permission: 'stores:write' },
      schema: {
        tags,
        summary: 'The stores a manager is registered to (replaced)',
        params: z.object({ managerId: z.string().max(40) }),
        body: z.object({ storeIds: z.array(z.string().max(40)).max(100) }),
        response: { 200: ZManager, ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.setManagerStores(deps, tenantIdOf(req), req.params.managerId, req.body.storeIds),
    });
    app.post('/store-managers/login', {
      config: { scopes: SCOPES.all, permission: false },
      schema: {
        tags,
        summary: 'A store manager logs in (the manager web page); the token goes in X-Manager-Token',
        body: ZManagerLogin,
        description:
          'INVALID_CREDENTIALS for a wrong ID or password alike; LOGIN_LOCKED after 5 wrong passwords in a row (unknown IDs too); RATE_LIMITED (with Retry-After) past the per-IP or per-login-ID rate.',
        response: {
          200: z.object({ token: z.string(), expiresAt: ZInstant, manager: ZManager }),
          ...problems(400, 401, 423, 429),
        },
      },
      handler: (req) => service.managerLogin(deps, tenantIdOf(req), { ...req.body, ip: req.ip }),
    });
  };
}
