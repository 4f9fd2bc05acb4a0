import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems, ZIdempotencyHeaders } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { tenantIdOf } from '../../platform/request-context.ts';
import { ZBasket, ZCheckout, ZCommitRequest, ZQuote, ZReplayRequest, ZReplayResult } from './checkout.schemas.ts';
import * as service from './checkout.service.ts';

const tags = ['Checkout'];
const scopes = ['pos', 'server'] as ('pos' | 'server')[];
const ZCheckoutParams = z.object({ checkoutId: z.string().max(100) });

/** /v1/checkout: quote, commit and cancel, the one integration a POS or an order server needs. */
export function checkoutRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/checkout/quote', {
      config: { scopes },
      schema: {
        tags,
        summary: 'Quote a basket: coupons with their discount or the rule each breaks, the best combination, usable points and prepaid, what it earns',
        description: 'Nothing is written.',
        body: ZBasket,
        response: { 200: ZQuote, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req) => service.quote(deps, tenantIdOf(req), req.body),
    });
    app.post('/checkout/commit', {
      config: { scopes },
      schema: {
        tags,
        summary: 'Commit a checkout: coupons, points and prepaid used, points and stamps earned, all or nothing',
        description:
          'Idempotent on checkoutId (an Idempotency-Key is optional): the same id returns the first answer, with other content CONFLICT. Rejections come from the part that refused: COUPON_* (with the rule), COUPON_NOT_STACKABLE, INSUFFICIENT_POINTS, BELOW_MINIMUM_USE, POINTS_MAX_USE_EXCEEDED, INSUFFICIENT_PREPAID, CARD_NOT_ACTIVE, CHECKOUT_EXCEEDS_TOTAL.',
        headers: ZIdempotencyHeaders,
        body: ZCommitRequest,
        response: { 200: ZCheckout, ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) => idempotent(deps, req, reply, (db) => service.commit({ ...deps, db }, tenantIdOf(req), req.body)),
    });
    app.post('/checkout/:checkoutId/cancel', {
      config: { scopes },
      schema: {
        tags,
        summary: 'Cancel a checkout: exactly what it did is reversed',
        description: 'Refused with nothing changed when earned points were spent (INSUFFICIENT_POINTS, why earned_points_used) or earned stamps went into a completed board.',
        headers: ZIdempotencyHeaders,
        params: ZCheckoutParams,
        body: z.object({ cancelId: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/) }),
        response: { 200: ZCheckout, ...problems(400, 401, 403, 404, 422) },
      },
      handler: (req, reply) => idempotent(deps, req, reply, (db) => service.cancel({ ...deps, db }, tenantIdOf(req), { checkoutId: req.params.checkoutId, cancelId: req.body.cancelId })),
    });
    app.post('/checkout/replay', {
      config: { scopes },
      schema: {
        tags,
        summary: 'Replay an offline POS’s checkouts: in the order they happened, each as of its own time, each answered',
        description: 'Each checkout is committed, already committed (sent before), or rejected with the refusing rule’s code (e.g. COUPON_ALREADY_USED when the coupon was used elsewhere meanwhile). None is dropped.',
        body: ZReplayRequest,
        response: { 200: ZReplayResult, ...problems(400, 401, 403) },
      },
      handler: (req) => service.replay(deps, tenantIdOf(req), req.body.checkouts),
    });
    app.get('/checkout/:checkoutId', {
      config: { scopes },
      schema: { tags, summary: 'A checkout and what it did', params: ZCheckoutParams, response: { 200: ZCheckout, ...problems(401, 403, 404) } },
      handler: (req) => service.getCheckout(deps, tenantIdOf(req), req.params.checkoutId),
    });
  };
}
