import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { ZPageOf } from '../../platform/pages.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import {
  ZBasket,
  ZCancelRequest,
  ZCheckout,
  ZCheckoutListQuery,
  ZCheckoutSummary,
  ZCommitRequest,
  ZQuote,
  ZReplayRequest,
  ZReplayResult,
} from './checkout.schemas.ts';
import * as service from './checkout.service.ts';

const tags = ['Checkout'];
const ZCheckoutParams = z.object({ checkoutId: z.string().max(100) });

/** /v1/checkout: quote, commit and cancel, the one integration a POS or an order server needs. */
export function checkoutRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/checkout/quote', {
      config: { scopes: SCOPES.pos, permission: 'checkout:read' },
      schema: {
        tags,
        summary:
          'Quote a basket: coupons with their discount or the rule each breaks, the best combination, usable points and prepaid, what it earns',
        description: 'Nothing is written.',
        body: ZBasket,
        response: { 200: ZQuote, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req) => service.quote(deps, tenantIdOf(req), req.body),
    });
    app.post('/checkout/commit', {
      config: { scopes: SCOPES.pos, permission: 'checkout:write', idempotency: 'optional' },
      schema: {
        tags,
        summary: 'Commit a checkout: coupons, points and prepaid used, points and stamps earned, all or nothing',
        description:
          'Idempotent on checkoutId (an Idempotency-Key is optional): the same id returns the first answer, with other content CONFLICT. Rejections come from the part that refused: COUPON_* (with the rule), COUPON_NOT_STACKABLE, INSUFFICIENT_POINTS, BELOW_MINIMUM_USE, POINTS_MAX_USE_EXCEEDED, INSUFFICIENT_PREPAID, CARD_NOT_ACTIVE, CHECKOUT_EXCEEDS_TOTAL.',
        body: ZCommitRequest,
        response: { 200: ZCheckout, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) => idempotent(deps, req, reply, (db) => service.commit({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.post('/checkout/:checkoutId/cancel', {
      config: {
        scopes: SCOPES.pos,
        permission: 'checkout:write',
        idempotency: 'optional',
        storeOf: (req) => service.checkoutStore(deps, tenantIdOf(req), (req.params as { checkoutId: string }).checkoutId),
      },
      schema: {
        tags,
        summary: 'Cancel a checkout, whole or by lines: exactly its share of what the commit did is reversed',
        description:
          'A partial cancel gives back the lines’ price less their share of the coupon discount, in proportion as points, prepaid and a refund by other means (paidRefund), and takes back earned points in the same proportion and stamps down to what the remaining lines earn. The last cancel gives back exactly the rest, the delivery fee and the coupons. Refused with nothing changed (OPERATION_NOT_CANCELLABLE with why: exceeds_line, no_such_line, cancelled, stamps_used_for_reward) or INSUFFICIENT_POINTS (why earned_points_used) when earned points were spent. The same cancelId returns the checkout as it is; with other content CONFLICT.',
        params: ZCheckoutParams,
        body: ZCancelRequest,
        response: { 200: ZCheckout, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) =>
          service.cancel({ ...deps, db }, tenantIdOf(req), { checkoutId: req.params.checkoutId, ...req.body }),
        ),
    });
    app.post('/checkout/replay', {
      config: { scopes: SCOPES.pos, permission: 'checkout:write' },
      schema: {
        tags,
        summary: 'Replay an offline POS’s checkouts: in the order they happened, each as of its own time, each answered',
        description:
          'Each checkout is committed, already committed (sent before), or rejected with the refusing rule’s code (e.g. COUPON_ALREADY_USED when the coupon was used elsewhere meanwhile). None is dropped.',
        body: ZReplayRequest,
        response: { 200: ZReplayResult, ...problems(400, 401, 403) },
      },
      handler: (req) => service.replay(deps, tenantIdOf(req), req.body.checkouts),
    });
    app.get('/checkouts', {
      config: { scopes: SCOPES.pos, permission: 'checkout:read' },
      schema: {
        tags,
        summary: 'Checkouts, newest first: of a member, a store, a status, a period; a page at a time',
        description:
          'Ordered by when Moa recorded them (`createdAt`; a replayed offline sale also has its `occurredAt`). `from`/`to` bound `createdAt`.',
        querystring: ZCheckoutListQuery,
        response: { 200: ZPageOf(ZCheckoutSummary), ...problems(400, 401, 403) },
      },
      handler: (req) => service.listCheckouts(deps, tenantIdOf(req), req.query),
    });
    app.get('/checkout/:checkoutId', {
      config: { scopes: SCOPES.pos, permission: 'checkout:read' },
      schema: {
        tags,
        summary: 'A checkout and what it did',
        params: ZCheckoutParams,
        response: { 200: ZCheckout, ...problems(401, 403, 404) },
      },
      handler: (req) => service.getCheckout(deps, tenantIdOf(req), req.params.checkoutId),
    });
  };
}
