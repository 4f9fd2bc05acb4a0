import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { currentMember } from '../members/index.ts';
import {
  ZAdjustRequest,
  ZCancelRequest,
  ZEarnRequest,
  ZPointBalance,
  ZPointOperation,
  ZPointPolicyRequest,
  ZPointPolicyVersion,
  ZUseRequest,
} from './points.schemas.ts';
import * as service from './points.service.ts';

const ZMemberParams = z.object({ id: z.string().max(40) });
const ZPage = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().max(140).optional() });
const ZOperations = z.object({ items: z.array(ZPointOperation), nextCursor: z.string().nullable() });
const rejections =
  'Rejections: INSUFFICIENT_POINTS, BELOW_MINIMUM_USE, POINTS_USE_UNIT, POINTS_MAX_USE_EXCEEDED, POINTS_CHANNEL_NOT_ALLOWED, ORDER_ALREADY_PROCESSED, MEMBER_NOT_ACTIVE.';

/** /v1: the point policy, earning, use, cancellation and adjustments (POS and servers), and the member's own points. */
export function pointRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/points/policy', {
      config: { scopes: SCOPES.all, permission: 'points:read' },
      schema: {
        tags: ['Points'],
        summary: 'The point policy in force, and every version',
        response: {
          200: z.object({ current: ZPointPolicyVersion, versions: z.array(ZPointPolicyVersion) }),
          ...problems(401, 403),
        },
      },
      handler: async (req) => ({
        current: await service.pointPolicyAt(deps, tenantIdOf(req), deps.clock.now()),
        versions: await service.pointPolicies(deps, tenantIdOf(req)),
      }),
    });

    app.post('/points/policy', {
      config: { scopes: SCOPES.server, permission: 'points:write', idempotency: 'optional' },
      schema: {
        tags: ['Points'],
        summary: 'Add a policy version (earn rates, rounding, use rules, validity, channels) from a time on',
        body: ZPointPolicyRequest,
        response: { 201: ZPointPolicyVersion, ...problems(400, 401, 403) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.setPointPolicy({ ...deps, db }, tenantIdOf(req), req.body), { status: 201 }),
    });

    app.post('/points/earn', {
      config: { scopes: SCOPES.pos, permission: 'points:write', idempotency: 'required' },
      schema: {
        tags: ['Points'],
        summary: 'Earn points on an order (적립): paid amount × the member’s grade rate',
        description: `One earning per order. ${rejections}`,
        body: ZEarnRequest,
        response: { 200: ZPointOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.earnPoints({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    app.post('/points/use', {
      config: { scopes: SCOPES.pos, permission: 'points:write', idempotency: 'required' },
      schema: {
        tags: ['Points'],
        summary: 'Use points on an order (사용): first-expiring lots first',
        description: `One use per order. ${rejections}`,
        body: ZUseRequest,
        response: { 200: ZPointOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.usePoints({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    app.post('/points/cancel', {
      config: {
        scopes: SCOPES.pos,
        permission: 'points:write',
        idempotency: 'required',
        storeOf: (req) => service.operationStore(deps, tenantIdOf(req), (req.body as { operationId: string }).operationId),
      },
      schema: {
        tags: ['Points'],
        summary: 'Cancel an earning or a use, in full or in part (취소)',
        description:
          'A cancelled use gives back exactly the lots it drew from, latest-expiring first (with their own expiry). A cancelled earning ' +
          'is refused with INSUFFICIENT_POINTS (details.why = earned_points_used) when the points were used meanwhile. Also OPERATION_NOT_CANCELLABLE, and CANCEL_ID_USED for a cancelId used before.',
        body: ZCancelRequest,
        response: { 200: ZPointOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.cancelPoints({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    app.post('/points/adjustments', {
      config: { scopes: SCOPES.server, permission: 'points:write', idempotency: 'required' },
      schema: {
        tags: ['Points'],
        summary: 'An operator’s adjustment with a mandatory reason (positive grants a lot, negative deducts)',
        body: ZAdjustRequest,
        response: { 200: ZPointOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.adjustPoints({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    app.get('/members/:id/points', {
      config: { scopes: SCOPES.pos, permission: 'points:read' },
      schema: {
        tags: ['Points'],
        summary: 'A member’s points: balance, lots and what expires within 30 days',
        params: ZMemberParams,
        response: { 200: ZPointBalance, ...problems(401, 403, 404) },
      },
      handler: (req) => service.pointBalance(deps, tenantIdOf(req), req.params.id),
    });

    app.get('/members/:id/points/operations', {
      config: { scopes: SCOPES.pos, permission: 'points:read' },
      schema: {
        tags: ['Points'],
        summary: 'A member’s point operations, newest first',
        params: ZMemberParams,
        querystring: ZPage,
        response: { 200: ZOperations, ...problems(401, 403, 404) },
      },
      handler: (req) => service.pointOperations(deps, tenantIdOf(req), req.params.id, req.query),
    });

    app.get('/me/points', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Points'],
        summary: 'My points (the member’s app)',
        response: { 200: ZPointBalance, ...problems(401, 403) },
      },
      handler: async (req) => service.pointBalance(deps, tenantIdOf(req), (await currentMember(deps, req)).member.id),
    });

    app.get('/me/points/operations', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Points'],
        summary: 'My point history',
        querystring: ZPage,
        response: { 200: ZOperations, ...problems(401, 403) },
      },
      handler: async (req) =>
        service.pointOperations(deps, tenantIdOf(req), (await currentMember(deps, req)).member.id, req.query),
    });
  };
}
