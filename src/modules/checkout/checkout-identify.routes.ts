import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { actorIdOf, SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { ZIdentified, ZIdentifyRequest } from './checkout-identify.schemas.ts';
import { identify } from './checkout-identify.service.ts';

/** /v1/members/identify: the counter finds the member by the app's barcode, a card or a phone number. */
export function identifyRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/members/identify', {
      config: { scopes: SCOPES.pos, permission: 'members:read' },
      schema: {
        tags: ['Members'],
        summary: 'Identify the member at the counter by the app’s barcode, a physical card or a phone number',
        description:
          'Send exactly one of `barcode` (single use: of parallel scans of one code exactly one succeeds), `cardNumber`, ' +
          '`phone`. Answers the member (masked name), the grade and a summary of the balances. Rejections: BARCODE_EXPIRED, ' +
          'BARCODE_USED, MEMBER_NOT_FOUND (unknown code, card or phone), MEMBER_NOT_ACTIVE, CONFLICT (a phone shared by ' +
          'several members), RATE_LIMITED with Retry-After (per key or operator and per client IP, SECRET_RATE_LIMIT_*: ' +
          'every miss, card and phone lookup counts; a barcode that resolves does not). An operator’s success is written ' +
          'to the personal-data access log; an API key’s is logged.',
        body: ZIdentifyRequest,
        response: { 200: ZIdentified, ...problems(400, 401, 403, 404, 409, 422, 429) },
      },
      handler: (req) =>
        identify(deps, tenantIdOf(req), req.body, {
          kind: req.auth?.kind === 'operator' ? 'operator' : 'api_key',
          actorId: actorIdOf(req),
          ip: req.ip,
          requestId: req.id,
        }),
    });
  };
}
