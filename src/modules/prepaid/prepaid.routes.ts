import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems, ZInstant } from '../../platform/http-schemas.ts';
import { idempotent, idempotentSteps } from '../../platform/idempotency.ts';
import { ZPageOf, ZPageQuery } from '../../platform/pages.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { currentMember } from '../members/index.ts';
import {
  ZAutoCharge,
  ZAutoChargeRequest,
  ZCard,
  ZCardCreate,
  ZCardUpdate,
  ZChargeCancelRequest,
  ZChargeRequest,
  ZChargeResult,
  ZGiftRequest,
  ZOperation,
  ZPrepaidSettings,
  ZPromotion,
  ZPromotionCreate,
  ZRefundPreview,
  ZRefundRequest,
  ZRegisterRequest,
  ZStoreChargeRequest,
  ZTransferRequest,
  ZUseCancelRequest,
  ZUseRequest,
} from './prepaid.schemas.ts';
import * as service from './prepaid.service.ts';
import * as autoCharge from './prepaid-auto-charge.service.ts';
import * as promotions from './prepaid-promotions.service.ts';

const ZCardParams = z.object({ cardId: z.string().max(40) });
const ZCards = ZPageOf(ZCard);
const ZCardsQuery = ZPageQuery.extend({ status: ZCard.shape.status.optional() });
const ZOperations = ZPageOf(ZOperation);
const tags = ['Prepaid'];

/** /v1: prepaid cards (충전금): the member's own cards in the app, charges and uses at the POS, the program for servers. */
export function prepaidRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const memberId = async (req: Parameters<typeof currentMember>[1]) => (await currentMember(deps, req)).member.id;

    app.get('/prepaid/program', {
      config: { scopes: SCOPES.all, permission: 'prepaid:read' },
      schema: {
        tags,
        summary: 'The prepaid program: charge limits and the refund rule',
        response: { 200: ZPrepaidSettings, ...problems(401, 403) },
      },
      handler: (req) => service.programSettings(deps, tenantIdOf(req)),
    });
    app.put('/prepaid/program', {
      config: { scopes: SCOPES.server, permission: 'prepaid:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Set the prepaid program',
        body: ZPrepaidSettings,
        response: { 200: ZPrepaidSettings, ...problems(400, 401, 403) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.setProgramSettings({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.get('/prepaid/liability', {
      config: { scopes: SCOPES.server, permission: 'prepaid:read' },
      schema: {
        tags,
        summary: 'Outstanding prepaid balance (선수금) as of a time, exact to the ledger',
        querystring: z.object({ at: ZInstant.optional() }),
        response: { 200: z.object({ at: ZInstant, outstanding: z.number().int() }), ...problems(401, 403) },
      },
      handler: (req) => service.liability(deps, tenantIdOf(req), req.query.at ? new Date(req.query.at) : deps.clock.now()),
    });
    app.get('/prepaid/promotions', {
      config: { scopes: SCOPES.server, permission: 'prepaid:read' },
      schema: {
        tags,
        summary: 'Charge promotions, newest first',
        querystring: ZPageQuery,
        response: { 200: ZPageOf(ZPromotion), ...problems(400, 401, 403) },
      },
      handler: (req) => promotions.listPromotions(deps, tenantIdOf(req), req.query),
    });
    app.post('/prepaid/promotions', {
      config: { scopes: SCOPES.server, permission: 'prepaid:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Create a charge promotion: points and/or a coupon for charging at least X, limited per member',
        body: ZPromotionCreate,
        response: { 201: ZPromotion, ...problems(400, 401, 403, 409) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => promotions.createPromotion({ ...deps, db }, tenantIdOf(req), req.body), {
          status: 201,
        }),
    });
    app.post('/prepaid/promotions/:promotionId/end', {
      config: { scopes: SCOPES.server, permission: 'prepaid:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'End a charge promotion now',
        params: z.object({ promotionId: z.string().max(100) }),
        response: { 200: ZPromotion, ...problems(401, 403, 404) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => promotions.endPromotion({ ...deps, db }, tenantIdOf(req), req.params.promotionId)),
    });
    app.post('/prepaid/physical-cards', {
      config: { scopes: SCOPES.server, permission: 'prepaid:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Add a physical card to stock (number + PIN) for a member to register',
        body: ZRegisterRequest.pick({ number: true, pin: true }),
        response: { 201: ZCard, ...problems(400, 401, 403, 409) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.issuePhysicalCard({ ...deps, db }, tenantIdOf(req), req.body), {
          status: 201,
        }),
    });
    app.post('/prepaid/physical-cards/:cardId/unlock', {
      config: { scopes: SCOPES.server, permission: 'prepaid:write', idempotency: 'optional' },
      schema: {
        tags,
        summary:
          'Lift a physical card’s PIN lock (after too many wrong PINs), e.g. once its holder has shown the card at a store',
        params: ZCardParams,
        response: { 200: ZCard, ...problems(401, 403, 404) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.unlockPhysicalCard({ ...deps, db }, tenantIdOf(req), req.params.cardId)),
    });
    app.get('/members/:id/prepaid/cards', {
      config: { scopes: SCOPES.pos, permission: 'prepaid:read' },
      schema: {
        tags,
        summary: 'A member’s prepaid cards with balances, oldest first',
        params: z.object({ id: z.string().max(40) }),
        querystring: ZCardsQuery,
        response: { 200: ZCards, ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.memberCards(deps, tenantIdOf(req), req.params.id, req.query),
    });

    // POS and servers
    app.post('/prepaid/charges', {
      config: { scopes: SCOPES.pos, permission: 'prepaid:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Charge a card at a store or from a server (Idempotency-Key required)',
        description:
          'Value is posted only after the payment is approved. Rejections: PREPAID_LIMIT_EXCEEDED, PAYMENT_DECLINED, CARD_NOT_ACTIVE, ORDER_ALREADY_PROCESSED.',
        body: ZStoreChargeRequest,
        response: { 200: ZChargeResult, ...problems(400, 401, 403, 404, 409, 422) },
      },
      // The payment is approved outside the transaction that posts it and stores the response.
      handler: (req, reply) =>
        idempotentSteps(deps, req, reply, {
          outside: () => service.payForCharge(deps, tenantIdOf(req), req.body),
          inside: (db, paid) => service.postCharge({ ...deps, db }, tenantIdOf(req), req.body, paid),
        }),
    });
    app.post('/prepaid/charges/cancel', {
      config: { scopes: SCOPES.pos, permission: 'prepaid:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Cancel a charge where it was made (a store charge at that store)',
        description:
          'Promotion rewards of the charge are taken back. Rejections: CHARGE_CANCEL_WRONG_CHANNEL, INSUFFICIENT_PREPAID (details.why = charge_already_used), INSUFFICIENT_POINTS (details.why = promotion_points_used), OPERATION_NOT_CANCELLABLE, CANCEL_ID_USED.',
        body: ZChargeCancelRequest,
        response: { 200: ZOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.cancelCharge({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.post('/prepaid/use', {
      config: { scopes: SCOPES.pos, permission: 'prepaid:write', idempotency: 'required' },
      schema: {
        tags,
        summary: 'Pay an order from a card (one use per order)',
        description: 'Rejections: INSUFFICIENT_PREPAID, CARD_NOT_ACTIVE, ORDER_ALREADY_PROCESSED.',
        body: ZUseRequest,
        response: { 200: ZOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) => idempotent(deps, req, reply, (db) => service.useCard({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.post('/prepaid/use/cancel', {
      config: {
        scopes: SCOPES.pos,
        permission: 'prepaid:write',
        idempotency: 'required',
        storeOf: (req) => service.operationStore(deps, tenantIdOf(req), (req.body as { operationId: string }).operationId),
      },
      schema: {
        tags,
        summary: 'Cancel a use in full or in part',
        description: 'Rejections: OPERATION_NOT_CANCELLABLE, CANCEL_ID_USED (a cancelId used before).',
        body: ZUseCancelRequest,
        response: { 200: ZOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.cancelUse({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    // The member's app
    app.get('/me/prepaid/cards', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'My prepaid cards, oldest first',
        querystring: ZCardsQuery,
        response: { 200: ZCards, ...problems(400, 401, 403) },
      },
      handler: async (req) => service.memberCards(deps, tenantIdOf(req), await memberId(req), req.query),
    });
    app.post('/me/prepaid/cards', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Open a mobile card (the first is the main card)',
        body: ZCardCreate,
        response: { 201: ZCard, ...problems(400, 401, 403) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) => service.openCard({ ...deps, db }, tenantIdOf(req), me, req.body.nickname), {
          status: 201,
        });
      },
    });
    app.post('/me/prepaid/cards/register', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Register a physical card by its number and PIN',
        description:
          'CARD_PIN_INVALID for a wrong number or PIN alike. CARD_PIN_LOCKED after too many wrong PINs in a row: on the card (until the brand’s server unlocks it) or by the member (24 hours). RATE_LIMITED (with Retry-After) past the per-IP or per-member rate.',
        body: ZRegisterRequest,
        response: { 201: ZCard, ...problems(400, 401, 403, 422, 423, 429) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        // Claimed before the write's transaction: a wrong PIN's rejection rolls that back, the count must stay.
        const attempt = await service.claimPinAttempt(deps, tenantIdOf(req), me, req.body.number, req.ip);
        return idempotent(
          deps,
          req,
          reply,
          (db) => service.registerPhysicalCard({ ...deps, db }, tenantIdOf(req), me, req.body, attempt),
          { status: 201 },
        );
      },
    });
    app.patch('/me/prepaid/cards/:cardId', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Rename a card, report it lost, suspend or reactivate it, or make it the main card',
        params: ZCardParams,
        body: ZCardUpdate,
        response: { 200: ZCard, ...problems(400, 401, 403, 404) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          service.updateCard({ ...deps, db }, tenantIdOf(req), me, req.params.cardId, req.body),
        );
      },
    });
    app.get('/me/prepaid/cards/:cardId/operations', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'A card’s history, newest first',
        params: ZCardParams,
        querystring: ZPageQuery,
        response: { 200: ZOperations, ...problems(400, 401, 403, 404) },
      },
      handler: async (req) => service.cardOperations(deps, tenantIdOf(req), req.params.cardId, await memberId(req), req.query),
    });
    app.post('/me/prepaid/cards/:cardId/charges', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'required', session: 'member' },
      schema: {
        tags,
        summary: 'Charge my card in the app (Idempotency-Key required)',
        params: ZCardParams,
        body: ZChargeRequest,
        response: { 200: ZChargeResult, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        const input = { ...req.body, cardId: req.params.cardId, memberId: me, channel: 'app' };
        return idempotentSteps(deps, req, reply, {
          outside: () => service.payForCharge(deps, tenantIdOf(req), input),
          inside: (db, paid) => service.postCharge({ ...deps, db }, tenantIdOf(req), input, paid),
        });
      },
    });
    app.post('/me/prepaid/charges/cancel', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'required', session: 'member' },
      schema: {
        tags,
        summary: 'Cancel an app charge in the app',
        body: ZChargeCancelRequest.omit({ channel: true, storeId: true }),
        response: { 200: ZOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          service.cancelCharge({ ...deps, db }, tenantIdOf(req), { ...req.body, channel: 'app', memberId: me }),
        );
      },
    });
    app.post('/me/prepaid/cards/:cardId/gift', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'required', session: 'member' },
      schema: {
        tags,
        summary: 'Give another member an amount, or the card itself',
        params: ZCardParams,
        body: ZGiftRequest,
        response: { 200: ZOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          service.gift({ ...deps, db }, tenantIdOf(req), me, req.params.cardId, req.body),
        );
      },
    });
    app.post('/me/prepaid/transfers', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'required', session: 'member' },
      schema: {
        tags,
        summary: 'Move balance between my cards',
        body: ZTransferRequest,
        response: { 200: ZOperation, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) => service.transfer({ ...deps, db }, tenantIdOf(req), me, req.body));
      },
    });
    app.get('/me/prepaid/promotions', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'Charge promotions running now, with how many more times I can earn each',
        response: { 200: z.object({ items: z.array(ZPromotion) }), ...problems(401, 403) },
      },
      handler: async (req) => ({ items: await promotions.memberPromotions(deps, tenantIdOf(req), await memberId(req)) }),
    });
    app.get('/me/prepaid/cards/:cardId/auto-charge', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'My card’s auto-charge and its last attempts',
        params: ZCardParams,
        response: { 200: ZAutoCharge, ...problems(401, 403, 404) },
      },
      handler: async (req) => autoCharge.autoChargeOf(deps, tenantIdOf(req), await memberId(req), req.params.cardId),
    });
    app.put('/me/prepaid/cards/:cardId/auto-charge', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Turn auto-charge on: below a threshold, or monthly on a day',
        description:
          'The payment token (billing key) is kept sealed. Failed charges are retried after the program’s waits and auto-charge is turned off, with a notice, after its maximum of consecutive failures.',
        params: ZCardParams,
        body: ZAutoChargeRequest,
        response: { 200: ZAutoCharge, ...problems(400, 401, 403, 404, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          autoCharge.setAutoCharge({ ...deps, db }, tenantIdOf(req), me, req.params.cardId, req.body),
        );
      },
    });
    app.delete('/me/prepaid/cards/:cardId/auto-charge', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'optional', session: 'member' },
      schema: {
        tags,
        summary: 'Turn auto-charge off',
        params: ZCardParams,
        response: { 200: ZAutoCharge, ...problems(401, 403, 404) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          autoCharge.turnOffAutoCharge({ ...deps, db }, tenantIdOf(req), me, req.params.cardId),
        );
      },
    });
    app.get('/me/prepaid/cards/:cardId/refund', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags,
        summary: 'What a refund would pay, and what must be used first (shown before confirming)',
        params: ZCardParams,
        response: { 200: ZRefundPreview, ...problems(401, 403, 404) },
      },
      handler: async (req) => service.previewRefund(deps, tenantIdOf(req), await memberId(req), req.params.cardId),
    });
    app.post('/me/prepaid/cards/:cardId/refund', {
      config: { scopes: SCOPES.app, permission: false, idempotency: 'required', session: 'member' },
      schema: {
        tags,
        summary: 'Refund the balance to a bank account under the refund rule',
        description: 'REFUND_NOT_ALLOWED carries details.amountStillToUse.',
        params: ZCardParams,
        body: ZRefundRequest,
        response: { 200: ZOperation.extend({ refund: ZRefundPreview }), ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: async (req, reply) => {
        const me = await memberId(req);
        return idempotent(deps, req, reply, (db) =>
          service.refund({ ...deps, db }, tenantIdOf(req), me, req.params.cardId, req.body),
        );
      },
    });
  };
}
