import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { idempotent } from '../../platform/idempotency.ts';
import { ZPageOf, ZPageQuery } from '../../platform/pages.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { ZGradeChange, ZGradeSettings, ZGradeSettingsView, ZMemberGrade, ZPurchase } from './grades.schemas.ts';
import * as service from './grades.service.ts';

const ZMemberParams = z.object({ id: z.string().max(40) });

/** /v1: the brand's grade levels, the purchases they are judged on, and members' grades. */
export function gradeRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/grades', {
      config: { scopes: SCOPES.all, permission: 'grades:read' },
      schema: {
        tags: ['Grades'],
        summary: 'The grade levels and the review cycle',
        response: { 200: ZGradeSettingsView, ...problems(401, 403) },
      },
      handler: (req) => service.gradeSettings(deps, tenantIdOf(req)),
    });

    app.put('/grades', {
      config: { scopes: SCOPES.server, permission: 'grades:write', idempotency: 'optional' },
      schema: {
        tags: ['Grades'],
        summary: 'Set the grade levels (replaced as a whole) and the review cycle',
        body: ZGradeSettings,
        response: { 200: ZGradeSettings, ...problems(400, 401, 403) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.setGradeSettings({ ...deps, db }, tenantIdOf(req), req.body)),
    });

    app.post('/grades/purchases', {
      config: { scopes: SCOPES.pos, permission: 'grades:write', idempotency: 'required' },
      schema: {
        tags: ['Grades'],
        summary: 'Count a purchase or a cancellation towards the member’s grade (Idempotency-Key required)',
        description: 'Until the checkout reports purchases itself. The day is the tenant’s, in its time zone.',
        body: ZPurchase,
        response: { 204: z.null(), ...problems(400, 401, 403, 404, 409, 422) },
      },
      handler: (req, reply) =>
        idempotent(
          deps,
          req,
          reply,
          async (db) => {
            await service.recordPurchase({ ...deps, db }, tenantIdOf(req), {
              ...req.body,
              at: req.body.at ? new Date(req.body.at) : undefined,
            });
            return null;
          },
          { status: 204 },
        ),
    });

    app.post('/members/:id/grade/evaluate', {
      config: { scopes: SCOPES.server, permission: 'grades:write', idempotency: 'optional' },
      schema: {
        tags: ['Grades'],
        summary: 'Evaluate a member’s grade now (on demand, outside the review cycle)',
        params: ZMemberParams,
        response: { 200: ZMemberGrade, ...problems(401, 403, 404, 409) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.evaluateMember({ ...deps, db }, tenantIdOf(req), req.params.id)),
    });

    app.put('/members/:id/grade', {
      config: { scopes: SCOPES.server, permission: 'grades:write', idempotency: 'optional' },
      schema: {
        tags: ['Grades'],
        summary: 'Change a member’s grade by hand, with a reason',
        params: ZMemberParams,
        body: z.object({
          grade: z.string().max(30),
          reason: z.string().trim().min(1).max(200),
          actor: z.string().max(100).optional(),
        }),
        response: { 200: ZMemberGrade, ...problems(400, 401, 403, 404) },
      },
      handler: (req, reply) =>
        idempotent(deps, req, reply, (db) => service.changeGrade({ ...deps, db }, tenantIdOf(req), req.params.id, req.body)),
    });

    app.get('/members/:id/grade-history', {
      config: { scopes: SCOPES.server, permission: 'grades:read' },
      schema: {
        tags: ['Grades'],
        summary: 'Every grade change of a member, newest first',
        params: ZMemberParams,
        querystring: ZPageQuery,
        response: { 200: ZPageOf(ZGradeChange), ...problems(400, 401, 403, 404) },
      },
      handler: (req) => service.gradeHistory(deps, tenantIdOf(req), req.params.id, req.query),
    });
  };
}
