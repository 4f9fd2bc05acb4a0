import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import { ZAccessLogPage, ZAccessLogQuery, ZMonth, ZMonthlyReport, ZVerifyResult } from './audit.schemas.ts';
import * as service from './audit.service.ts';

const tags = ['Audit'];

/** /v1: the personal-data access log, read by the brand's servers and by operators with `audit:read`. */
export function auditRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/audit/access-log', {
      config: { scopes: SCOPES.server, permission: 'audit:read' },
      schema: {
        tags,
        summary: 'Search the personal-data access log: by operator, member, action and period, newest first',
        description:
          'Every view, unmask, change, export, download and deletion of personal data by an operator, kept at least 2 years. Filters combine (AND); pages follow `nextCursor` (keyset on seq).',
        querystring: ZAccessLogQuery,
        response: { 200: ZAccessLogPage, ...problems(400, 401, 403) },
      },
      handler: (req) => service.searchAccessLog(deps, tenantIdOf(req), req.query),
    });
    app.get('/audit/access-log/verify', {
      config: { scopes: SCOPES.server, permission: 'audit:read' },
      schema: {
        tags,
        summary: 'Verify the access log’s hash chain: OK, or the first seq where it breaks',
        description:
          'Recomputes every kept row’s SHA-256 from the retention anchor to the head: an edited row, a deleted one, rows reordered or cut off the end all show as `broken` with their seq. Keep `head` outside the database (e.g. with the monthly review) to detect a chain rewritten as a whole.',
        response: { 200: ZVerifyResult, ...problems(401, 403) },
      },
      handler: (req) => service.verifyAccessLog(deps, tenantIdOf(req)),
    });
    app.get('/audit/access-log/report', {
      config: { scopes: SCOPES.server, permission: 'audit:read' },
      schema: {
        tags,
        summary: 'The monthly review of the access log (개인정보 접속기록 월간 점검)',
        description:
          'For the month in the tenant’s time zone: per operator the unmasked views and exports against their usual month (the median of the three 30-day periods before, flagged above 3×), every download (its reason to be confirmed), and every access between 22:00 and 07:00.',
        querystring: z.object({ month: ZMonth }),
        response: { 200: ZMonthlyReport, ...problems(400, 401, 403) },
      },
      handler: (req) => service.monthlyReport(deps, tenantIdOf(req), req.query.month),
    });
  };
}
