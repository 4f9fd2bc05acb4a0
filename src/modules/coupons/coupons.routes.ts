import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { streamedBody } from '../../platform/http-input.ts';
import { problems, ZInstant } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { ZPageOf, ZPageQuery } from '../../platform/pages.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { currentMember } from '../members/index.ts';
import * as bulk from './coupon-bulk.service.ts';
import { ZCoupon, ZDefinition, ZDefinitionRequest, ZOpId, ZRedeemRequest, ZRedemption } from './coupons.schemas.ts';
import * as service from './coupons.service.ts';

const tags = ['Coupons'];
const ZCoupons = ZPageOf(ZCoupon);
const ZDefinitionParams = z.object({ definitionId: z.string().max(100) });
const ZAllQuery = ZPageQuery.extend({
  all: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
const ZValidation = z
  .object({
    applicable: z.boolean(),
    discount: z.number().int(),
    rejection: z
      .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) })
      .optional()
      .meta({ description: 'The rule that failed, with the values involved.' }),
  })
  .meta({ id: 'CouponValidation' });
const USE_REJECTIONS =
  'Rejections name their rule: COUPON_ALREADY_USED, COUPON_EXPIRED, COUPON_NOT_YET_VALID, COUPON_NOT_ACTIVE, COUPON_REVOKED, COUPON_MEMBER_USE_LIMIT, COUPON_GRADE_NOT_ELIGIBLE, COUPON_WRONG_CHANNEL, COUPON_WRONG_SERVICE_TYPE, COUPON_STORE_NOT_ELIGIBLE, COUPON_REGION_NOT_ELIGIBLE, COUPON_OUTSIDE_HOURS, COUPON_MIN_ORDER, COUPON_CONDITION_PRODUCTS, COUPON_NO_EFFECT.';

/** /v1: coupon definitions for the brand's server, issuing and using at the POS, the member's wallet in the app. */
export function couponRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const memberId = async (req: Parameters<typeof currentMember>[1]) => (await currentMember(deps, req)).member.id;

    app.post('/coupons/definitions', {
      config: { scopes: SCOPES.server, permission: 'coupons:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Create a coupon definition: the benefit, every rule, the first-come quantity and the limits',
        body: ZDefinitionRequest,
        response: { 201: ZDefinition, ...problems(400, 401, 403, 409) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.createDefinition({ ...deps, db }, tenantIdOf(req), req.body), {
          status: 201,
        }),
    });
    app.get('/coupons/definitions', {
      config: { scopes: SCOPES.server, permission: 'coupons:read' },
      schema: {
        tags,
        summary: 'Coupon definitions, newest first, a page at a time',
        querystring: ZPageQuery.extend({ status: z.enum(['active', 'paused', 'ended']).optional() }),
        response: {
          200: z.object({ items: z.array(ZDefinition), nextCursor: z.string().nullable() }),
          ...problems(400, 401, 403),
        },
      },
      handler: (req) => service.listDefinitions(deps, tenantIdOf(req), req.query),
    });
    app.get('/coupons/definitions/:definitionId', {
      config: { scopes: SCOPES.server, permission: 'coupons:read' },
      schema: {
        tags,
        summary: 'A coupon definition with how many were issued',
        params: ZDefinitionParams,
        response: { 200: ZDefinition, ...problems(401, 403, 404) },
      },
      handler: (req) => service.getDefinition(deps, tenantIdOf(req), req.params.definitionId),
    });
    app.post('/coupons/definitions/:definitionId/status', {
      config: { scopes: SCOPES.server, permission: 'coupons:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Pause, resume or end a definition',
        params: ZDefinitionParams,
        body: z.object({ status: z.enum(['active', 'paused', 'ended']) }),
        response: { 200: ZDefinition, ...problems(400, 401, 403, 404) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) =>
          service.setDefinitionStatus({ ...deps, db }, tenantIdOf(req), req.params.definitionId, req.body.status),
        ),
    });
    app.post('/coupons/definitions/:definitionId/issues', {
      config: { scopes: SCOPES.server, permission: 'coupons:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Issue a coupon to a member (an operator’s issue)',
        description:
          'With a reference, issuing is idempotent: the same reference returns the coupon it issued. Rejections: COUPON_EXHAUSTED, COUPON_MEMBER_LIMIT, COUPON_NOT_ISSUING, MEMBER_NOT_ACTIVE.',
        params: ZDefinitionParams,
        body: z.object({ memberId: z.string().max(40), reference: ZOpId.optional() }),
        response: { 201: ZCoupon, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(
          deps,
          req,
          reply,
          (db) =>
            service.issueCoupon({ ...deps, db }, tenantIdOf(req), {
              definitionId: req.params.definitionId,
              memberId: req.body.memberId,
              source: 'operator',
              sourceRef: req.body.reference,
            }),
          { status: 201 },
        ),
    });
    app.post('/coupons/definitions/:definitionId/pins', {
      config: { scopes: SCOPES.server, permission: 'coupons:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Generate a batch of PIN codes (shown once; only their keyed hashes are kept)',
        params: ZDefinitionParams,
        body: z.object({ count: z.number().int().min(1).max(10_000) }),
        response: {
          201: z.object({ batchId: z.string(), definitionId: z.string(), pins: z.array(z.string()) }),
          ...problems(400, 401, 403, 404),
        },
      },
      handler: (req, reply) =>
        idempotent(
          deps,
          req,
          reply,
          (db) => service.generatePins({ ...deps, db }, tenantIdOf(req), req.params.definitionId, req.body.count),
          { status: 201, secret: true },
        ), // the PINs: the record keeps them sealed
    });
    // The member list is streamed to the bulk issue, never held in memory.
    app.addContentTypeParser('text/csv', streamedBody);
    const ZBulkParams = ZDefinitionParams.extend({ bulkId: z.string().max(64) });
    const ZBulkSummary = z
      .object({
        id: z.string(),
        definitionId: z.string(),
        status: z.enum(['running', 'done']),
        rowsDone: z.number().int(),
        issued: z.number().int(),
        rejected: z.record(z.string(), z.number().int()).meta({
          description: 'Refusals by code: MEMBER_NOT_ACTIVE, COUPON_MEMBER_LIMIT, COUPON_EXHAUSTED, DUPLICATE_IN_LIST.',
        }),
        startedAt: ZInstant,
        finishedAt: ZInstant.nullable(),
      })
      .meta({ id: 'CouponBulkIssue' });
    app.put('/coupons/definitions/:definitionId/bulk-issues/:bulkId', {
      config: { scopes: SCOPES.server, permission: 'coupons:write' },
      schema: {
        tags,
        summary: 'Issue the coupon to a list of members (Content-Type: text/csv with a member_id column), streamed and resumable',
        description:
          'Handled 1,000 members at a time, each chunk committed with the checkpoint: PUT the same list to the same id after an interruption and it resumes; after it finished, the summary comes back.',
        params: ZBulkParams,
        response: { 200: ZBulkSummary, ...problems(400, 401, 403, 404, 409, 415, 422) },
      },
      handler: (req) => {
        const body = req.body as Partial<AsyncIterable<Buffer>> | undefined;
        if (typeof body?.[Symbol.asyncIterator] !== 'function')
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the member list with Content-Type: text/csv.');
        return bulk.bulkIssue(deps, tenantIdOf(req), req.params.definitionId, req.params.bulkId, body as AsyncIterable<Buffer>);
      },
    });
    app.get('/coupons/definitions/:definitionId/bulk-issues/:bulkId', {
      config: { scopes: SCOPES.server, permission: 'coupons:read' },
      schema: {
        tags,
        summary: 'A bulk issue’s progress',
        params: ZBulkParams,
        response: { 200: ZBulkSummary, ...problems(401, 403, 404) },
      },
      handler: (req) => bulk.getBulkIssue(deps, tenantIdOf(req), req.params.bulkId),
    });
    app.get('/members/:id/coupons', {
      config: { scopes: SCOPES.pos, permission: 'coupons:read' },
      schema: {
        tags,
        summary: 'A member’s coupons, newest first (usable ones, or all)',
        params: z.object({ id: z.string().max(40) }),
        querystring: ZAllQuery,
        response: { 200: ZCoupons, ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.couponsOfMember(deps, tenantIdOf(req), req.params.id, req.query),
    });
    app.post('/coupons/validate', {
      config: { scopes: SCOPES.pos, permission: 'coupons:read' },
      schema: {
        tags,
        summary: 'Whether a coupon applies to an order and what it takes off (nothing is written)',
        body: ZRedeemRequest,
        response: { 200: ZValidation, ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.validateCoupon(deps, tenantIdOf(req), req.body),
    });
    app.post('/coupons/redeem', {
      config: { scopes: SCOPES.pos, permission: 'coupons:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Use a member’s coupon on an order (once)',
        description: USE_REJECTIONS,
        body: ZRedeemRequest,
        response: { 200: ZRedemption, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.redeemCoupon({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.post('/coupons/uses/:useId/cancel', {
      config: { scopes: SCOPES.pos, permission: 'coupons:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Cancel a use: the coupon is usable again while it is valid',
        params: z.object({ useId: z.string().max(200) }),
        response: { 200: ZRedemption, ...problems(401, 403, 404, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.cancelRedemption({ ...deps, db }, tenantIdOf(req), req.params.useId)),
    });

    app.post('/coupons/holds', {
      config: { scopes: SCOPES.pos, permission: 'coupons:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Hold coupons during a long payment: only this hold can use them until it times out',
        description:
          'Commit the checkout with the same holdId, or release it. Holding again with the same id extends it. Rejections: COUPON_HELD, COUPON_ALREADY_USED, COUPON_EXPIRED, COUPON_REVOKED.',
        body: z.object({
          holdId: ZOpId,
          memberId: z.string().max(40),
          couponIds: z.array(z.string().max(40)).min(1).max(10),
          ttlSeconds: z.number().int().min(10).max(3_600).default(600),
        }),
        response: {
          201: z.object({ holdId: z.string(), couponIds: z.array(z.string()), heldUntil: ZInstant }),
          ...problems(400, 401, 403, 404, 422),
        },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.holdCoupons({ ...deps, db }, tenantIdOf(req), req.body), { status: 201 }),
    });
    app.post('/coupons/holds/:holdId/release', {
      config: { scopes: SCOPES.pos, permission: 'coupons:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Release a hold: its coupons are free again',
        params: z.object({ holdId: ZOpId }),
        response: { 200: z.object({ holdId: z.string(), released: z.number().int() }), ...problems(401, 403) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.releaseHold({ ...deps, db }, tenantIdOf(req), req.params.holdId)),
    });

    // The member's app
    app.get('/me/coupons', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'My coupons, newest first (usable ones, or all)',
        querystring: ZAllQuery,
        response: { 200: ZCoupons, ...problems(400, 401, 403) },
      },
      handler: async (req) => service.couponsOfMember(deps, tenantIdOf(req), await memberId(req), req.query),
    });
    app.get('/me/coupons/downloadable', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'Coupons I can download now, newest first, with how many more I can take; a page at a time',
        querystring: ZPageQuery,
        response: {
          200: z.object({
            items: z.array(ZDefinition.extend({ remaining: z.number().int() })),
            nextCursor: z.string().nullable(),
          }),
          ...problems(400, 401, 403),
        },
      },
      handler: async (req) => service.downloadable(deps, tenantIdOf(req), await memberId(req), req.query),
    });
    app.post('/me/coupons/downloads', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Download a coupon (first-come: never more than its quantity)',
        description: 'Rejections: COUPON_EXHAUSTED, COUPON_MEMBER_LIMIT, COUPON_NOT_DOWNLOADABLE, COUPON_NOT_ISSUING.',
        body: z.object({ definitionId: z.string().max(100) }),
        response: { 201: ZCoupon, ...problems(400, 401, 403, 404, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(
          deps,
          req,
          reply,
          (db) =>
            service.issueCoupon({ ...deps, db }, tenantIdOf(req), {
              definitionId: req.body.definitionId,
              memberId: me,
              source: 'download',
            }),
          { status: 201 },
        );
      },
    });
    app.post('/me/coupons/pins', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Register a coupon PIN code',
        description:
          'COUPON_PIN_INVALID for a PIN that is wrong or registered already; RATE_LIMITED (with Retry-After) past the per-IP or per-member rate.',
        body: z.object({ pin: z.string().min(12).max(20) }),
        response: { 201: ZCoupon, ...problems(400, 401, 403, 422, 429) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        await service.limitPinRegistration(deps, tenantIdOf(req), me, req.ip);
        return idempotent(deps, req, reply, (db) => service.registerPin({ ...deps, db }, tenantIdOf(req), me, req.body.pin), {
          status: 201,
        });
      },
    });
    app.post('/me/coupons/:couponId/gift', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'required', session: 'member' },
      schema: {
        tags,
        summary: 'Give a coupon to another member',
        params: z.object({ couponId: z.string().max(40) }),
        body: z.object({ giftId: ZOpId, toMemberId: z.string().max(40) }),
        response: { 200: ZCoupon, ...problems(400, 401, 403, 404, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          service.giftCoupon({ ...deps, db }, tenantIdOf(req), me, req.params.couponId, req.body),
        );
      },
    });
  };
}
