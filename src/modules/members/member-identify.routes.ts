import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems, ZInstant } from '../../platform/http-schemas.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { BARCODE_TTL_SECONDS, issueBarcode } from './member-identify.service.ts';
import { currentMember } from './members.routes.ts';

const ZBarcode = z
  .object({
    code: z.string().meta({
      description: '18 digits (the last a Luhn check digit): show it as a barcode or QR code.',
      example: '739104825563017724',
    }),
    expiresAt: ZInstant.meta({ description: `At most ${BARCODE_TTL_SECONDS} seconds after issue.` }),
    refreshAfter: ZInstant.meta({ description: 'When the app asks for the next code, so the one on screen is always live.' }),
  })
  .meta({ id: 'MemberBarcode' });

/** /v1/me/barcode: the member app's dynamic barcode, which a POS scans (POST /v1/members/identify). */
export function memberBarcodeRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/me/barcode', {
      config: { scopes: SCOPES.app, permission: false, session: 'member' },
      schema: {
        tags: ['Members'],
        summary: 'A new membership barcode for the counter: single use, short-lived, replacing the previous one',
        description:
          `The code identifies the member once, within ${BARCODE_TTL_SECONDS} seconds; a new request replaces the previous code ` +
          '(a screenshot of an old one does not work). Not idempotent on purpose: a retry simply replaces the code, and no ' +
          'response holding a code is ever stored (only a keyed hash of the code is).',
        response: { 201: ZBarcode, ...problems(401, 403) },
      },
      handler: async (req, reply) => {
        const { member } = await currentMember(deps, req);
        return reply.code(201).send(await issueBarcode(deps, tenantIdOf(req), member.id));
      },
    });
  };
}
