import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { problems } from '../../platform/http-schemas.ts';
import { SCOPES, tenantIdOf } from '../../platform/request-context.ts';
import {
  ZAccountParams,
  ZBalanceAsOfQuery,
  ZHistoryQuery,
  ZLedgerAccount,
  ZLedgerEntry,
  ZLedgerLot,
  ZLotsQuery,
} from './ledger.schemas.ts';
import * as service from './ledger.service.ts';

/** /v1/ledger: read-only; value moves through the currency modules (points, prepaid, stamps…). */
export function ledgerRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/ledger/accounts/:accountId', {
      config: { scopes: SCOPES.server, permission: 'ledger:read' },
      schema: {
        tags: ['Ledger'],
        summary: 'A ledger account with its posted, pending and available balance',
        params: ZAccountParams,
        response: { 200: ZLedgerAccount, ...problems(400, 401, 404) },
      },
      handler: (req) => service.getAccount(deps, tenantIdOf(req), req.params.accountId),
    });

    app.get('/ledger/accounts/:accountId/entries', {
      config: { scopes: SCOPES.server, permission: 'ledger:read' },
      schema: {
        tags: ['Ledger'],
        summary: 'The account’s history, newest first, each entry with its reason and resulting balance',
        params: ZAccountParams,
        querystring: ZHistoryQuery,
        response: {
          200: z.object({ items: z.array(ZLedgerEntry), nextCursor: z.string().nullable() }),
          ...problems(400, 401, 404),
        },
      },
      handler: (req) => service.accountHistory(deps, tenantIdOf(req), req.params.accountId, req.query),
    });

    app.get('/ledger/accounts/:accountId/lots', {
      config: { scopes: SCOPES.server, permission: 'ledger:read' },
      schema: {
        tags: ['Ledger'],
        summary: 'The lots of an expiring currency account (open ones, or all with ?all=true), first-expiring first',
        params: ZAccountParams,
        querystring: ZLotsQuery,
        response: { 200: z.object({ items: z.array(ZLedgerLot) }), ...problems(400, 401, 404) },
      },
      handler: async (req) => ({ items: await service.accountLots(deps, tenantIdOf(req), req.params.accountId, req.query.all) }),
    });

    app.get('/ledger/accounts/:accountId/balance-at', {
      config: { scopes: SCOPES.server, permission: 'ledger:read' },
      schema: {
        tags: ['Ledger'],
        summary: 'The posted balance as of a past instant',
        params: ZAccountParams,
        querystring: ZBalanceAsOfQuery,
        response: {
          200: z.object({ accountId: z.string(), at: z.string(), posted: z.number().int() }),
          ...problems(400, 401, 404),
        },
      },
      handler: async (req) => ({
        accountId: req.params.accountId,
        at: new Date(req.query.at).toISOString(),
        posted: await service.balanceAsOf(deps, tenantIdOf(req), req.params.accountId, new Date(req.query.at)),
      }),
    });

    app.get('/ledger/trial-balance', {
      config: { scopes: SCOPES.server, permission: 'ledger:read' },
      schema: {
        tags: ['Ledger'],
        summary: 'Per ledger, the sum of all account balances: zero when the books balance',
        response: {
          200: z.object({
            items: z.array(z.object({ ledger: z.string(), accounts: z.number().int(), total: z.number().int() })),
          }),
          ...problems(401, 403),
        },
      },
      handler: async (req) => ({ items: await service.trialBalance(deps, tenantIdOf(req)) }),
    });
  };
}
