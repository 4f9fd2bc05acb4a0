import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems, ZInstant } from '../../platform/http-schemas.ts';
import { idempotent, idempotentSteps } from '../../platform/idempotency.ts';
import { ZPageOf, ZPageQuery } from '../../platform/pages.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { currentMember } from '../members/index.ts';
import { authenticateManager } from '../stores/index.ts';
import { ZEarnResult, ZMemberStampCard, ZOrder, ZStampCard, ZStampCardRequest } from './stamps.schemas.ts';
import * as service from './stamps.service.ts';

const tags = ['Stamps'];
const ZCardParams = z.object({ cardId: z.string().max(40) });
const ZApproval = ZEarnResult.extend({ memberId: z.string(), managerId: z.string(), storeId: z.string() }).meta({
  id: 'StampOtpApproval',
});

/** /v1: stamp cards (servers), earning and cancelling at the POS, the member's cards and codes, and the managers' OTP approvals. */
export function stampRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/stamp-cards', {
      config: { scopes: SCOPES.all, permission: 'stamps:read' },
      schema: {
        tags,
        summary: 'The brand’s stamp cards, oldest first',
        querystring: ZPageQuery.extend({ status: ZStampCard.shape.status.optional() }),
        response: { 200: ZPageOf(ZStampCard), ...problems(400, 401, 403) },
      },
      handler: (req) => service.listStampCards(deps, tenantIdOf(req), req.query),
    });
    app.post('/stamp-cards', {
      config: { scopes: SCOPES.server, permission: 'stamps:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Define a stamp card: boards, validity, reward and earning policy',
        body: ZStampCardRequest,
        response: { 201: ZStampCard, ...problems(400, 401, 403) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.createStampCard({ ...deps, db }, tenantIdOf(req), req.body), {
          status: 201,
        }),
    });
    app.post('/stamps/earn', {
      config: { scopes: SCOPES.pos, permission: 'stamps:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Earn stamps for an order on every payment card (Idempotency-Key required)',
        description:
          'Each card earns by its policy or names the rule that excluded it in `skipped` (STAMP_NOT_ELIGIBLE with rule, STAMP_DAILY_LIMIT, STAMP_CARD_NOT_ACTIVE).',
        body: ZOrder,
        response: { 200: z.object({ items: z.array(ZEarnResult) }), ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, async (db) => ({
          items: await service.earnForOrder({ ...deps, db }, tenantIdOf(req), req.body),
        })),
    });
    app.post('/stamps/events', {
      config: { scopes: SCOPES.server, permission: 'stamps:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Grant stamps on a card for an event (once per event id)',
        body: z.object({
          cardId: z.string().max(40),
          memberId: z.string().max(40),
          eventId: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/),
          count: z.number().int().min(1).max(100),
        }),
        response: { 200: ZEarnResult, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.earnForEvent({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.post('/stamps/cancel', {
      config: { scopes: SCOPES.pos, permission: 'stamps:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Take back the stamps of a cancelled order',
        description: 'OPERATION_NOT_CANCELLABLE with details.why = stamps_used_for_reward when they went into a completed board.',
        body: z.object({ cancelId: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/), orderId: z.string().max(100) }),
        response: {
          200: z.object({ orderId: z.string(), cancelled: z.array(z.object({ cardId: z.string(), count: z.number().int() })) }),
          ...problems(400, 401, 403, 422),
        },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.cancelOrderStamps({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.get('/members/:id/stamp-cards', {
      config: { scopes: SCOPES.pos, permission: 'stamps:read' },
      schema: {
        tags,
        summary: 'A member’s stamp cards',
        params: z.object({ id: z.string().max(40) }),
        querystring: ZPageQuery,
        response: { 200: ZPageOf(ZMemberStampCard), ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.memberStampCards(deps, tenantIdOf(req), req.params.id, req.query),
    });
    app.get('/me/stamp-cards', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'My stamp cards',
        querystring: ZPageQuery,
        response: { 200: ZPageOf(ZMemberStampCard), ...problems(400, 401, 403) },
      },
      handler: async (req) =>
        service.memberStampCards(deps, tenantIdOf(req), (await currentMember(deps, req)).member.id, req.query),
    });
    app.post('/me/stamp-cards/:cardId/otp', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'A one-time code for the store manager when the stamp device does not work (6 digits, 3 minutes, single use)',
        params: ZCardParams,
        response: {
          201: z.object({ code: z.string(), cardId: z.string(), expiresAt: ZInstant }),
          ...problems(401, 403, 404, 422),
        },
      },
      handler: async (req, reply) => {
        const me = (await currentMember(deps, req)).member.id;
        reply.code(201).send(await service.issueOtp(deps, tenantIdOf(req), me, req.params.cardId));
      },
    });
    app.post('/store-managers/stamp-approvals', {
      config: { scopes: SCOPES.all, permission: false, session: 'manager', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'A store manager approves a member’s code with a stamp count (OTP fallback, 대체인증)',
        description:
          'Rejections: NOT_STORE_MANAGER (not registered to the store, or the store has no manager), OTP_INVALID, OTP_EXPIRED, RATE_LIMITED with Retry-After (wrong codes: 5 per manager and 20 per store in a 10-minute window, claimed before the code is checked; and the per-IP and per-manager secret-check rates), STAMP_NOT_ELIGIBLE, STAMP_DAILY_LIMIT. With an `Idempotency-Key`, a manager retrying after a time-out gets the first answer again: whether the stamps were granted.',
        body: z.object({
          storeId: z.string().max(40),
          code: z.string().regex(/^\d{6}$/),
          count: z.number().int().min(1).max(100),
        }),
        response: { 200: ZApproval, ...problems(400, 401, 403, 404, 422, 429) },
      },
      handler: (req, reply) =>
        // The approval runs its own transactions (the wrong-code counters must outlive a rejection),
        // so it is the step outside; the answer is stored under the key inside.
        idempotentSteps(deps, req, reply, {
          outside: async () => {
            const manager = await authenticateManager(
              deps,
              tenantIdOf(req),
              req.headers['x-manager-token'] as string | undefined,
            );
            return service.approveOtp(deps, tenantIdOf(req), manager, { ...req.body, ip: req.ip });
          },
          inside: async (_db, approval) => approval,
        }),
    });
  };
}
