import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { auditRoutes } from './modules/audit/index.ts';
import { checkoutRoutes, identifyRoutes } from './modules/checkout/index.ts';
import { couponRoutes } from './modules/coupons/index.ts';
import { gradeRoutes } from './modules/grades/index.ts';
import { identityRoutes, platformIdentityRoutes, sandboxRoutes } from './modules/identity/index.ts';
import { ledgerRoutes } from './modules/ledger/index.ts';
import { memberBarcodeRoutes, memberRoutes, socialSandboxRoutes } from './modules/members/index.ts';
import { sandboxMessageRoutes } from './modules/messages/index.ts';
import {
  notePermission,
  operatorAuth,
  operatorAuthRoutes,
  operatorLoginPage,
  operatorRoutes,
  platformOperatorRoutes,
} from './modules/operators/index.ts';
import { pointRoutes } from './modules/points/index.ts';
import { prepaidRoutes } from './modules/prepaid/index.ts';
import { stampRoutes } from './modules/stamps/index.ts';
import { storeRoutes } from './modules/stores/index.ts';
import { createApiKeyAuthenticator, platformTenantRoutes, tenantRoutes } from './modules/tenants/index.ts';
import { webhookRoutes } from './modules/webhooks/index.ts';
import { asSystem, withTenant } from './platform/db-context.ts';
import type { Deps } from './platform/deps.ts';
import { AppError } from './platform/errors.ts';
import { registerPlatformHttp, requestIdFor } from './platform/http.ts';
import { clientErrorHandler, frameworkErrors, registerInputGuards, validatorCompiler } from './platform/http-input.ts';
import { declareRouteHeaders } from './platform/http-schemas.ts';
import { requireIdempotencyKey } from './platform/idempotency.ts';
import { apiRateLimit } from './platform/limits.ts';
import { type LocalCommands, registerLocalControl } from './platform/local-control.ts';
import { checkAccess, checkStores, declareScopes, requireSessionToken, tenantIdOf } from './platform/request-context.ts';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export type AppOptions = {
  engine: string;
  /** Embedded mode: the CLI's commands, run here for a caller on this machine with the token (server.json). */
  localControl?: { token: string; commands: LocalCommands };
};

function bearerToken(header: string | undefined): string {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <API key>.');
  return match[1]!;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * Runs a route's handler, and every query it makes, in a database context (db-context.ts): row-level
 * security then holds whatever the handler's SQL forgets. The handler runs after body parsing, whose
 * stream events would lose a context entered in an earlier hook.
 */
function handlerIn(route: RouteOptions, context: <T>(req: Parameters<RouteOptions['handler']>[0], fn: () => T) => T): void {
  const handler = route.handler;
  route.handler = function (req, reply) {
    return context(req, () => handler.call(this, req, reply));
  };
}

/** The HTTP application: platform plugins first, then each module's routes under its prefix. */
export async function buildApp(deps: Deps, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    genReqId: requestIdFor,
    bodyLimit: deps.config.bodyLimitBytes,
    requestTimeout: 60_000,
    // Longer than a typical load balancer's idle timeout, so the proxy closes first.
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // req.ip (rate limits) is the socket's address unless TRUST_PROXY names the proxies in front.
    trustProxy: deps.config.trustProxy,
    // Rejections before a route runs (bad URL, Node's HTTP parser) answer problem+json too.
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  registerInputGuards(app);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('auth', null);

  await registerPlatformHttp(app, { ...deps, version: VERSION, engine: options.engine });
  // What a route's config declares about its headers is documented and enforced from that config,
  // after authentication and before validation.
  app.addHook('onRoute', declareRouteHeaders);
  app.addHook('preValidation', requireIdempotencyKey);
  app.addHook('preValidation', requireSessionToken);

  // /v1: the brand's app, web shop, POS and servers, authenticated by a tenant API key.
  const authenticate = createApiKeyAuthenticator(deps);
  await app.register(
    async (v1) => {
      // Every route declares its API key scopes (start-up fails otherwise), enforced here once; its
      // handler runs under the key's tenant (row-level security).
      v1.addHook('onRoute', (route) => {
        declareScopes(route);
        handlerIn(route, (req, fn) => withTenant(tenantIdOf(req), fn));
      });
      v1.addHook('onRequest', async (req) => {
        // An operator's console sends its session cookie instead of an API key.
        const operator = req.headers.authorization === undefined ? await operatorAuth(deps, req) : undefined;
        req.auth = operator ?? (await authenticate(bearerToken(req.headers.authorization)));
        checkAccess(req, deps.clock.now());
        if (operator)
          await withTenant(operator.tenantId!, () => notePermission(deps, operator, req.routeOptions.config.permission));
      });
      // After authentication: the per-API-key request limit and its RateLimit-* headers.
      v1.addHook('onRequest', apiRateLimit(deps));
      // After validation (the body parsed): a store-limited operator's stores.
      v1.addHook('preHandler', async (req) => {
        // storeOf reads the cancelled operation: under the caller's tenant, as the handler will.
        if (req.auth?.kind === 'operator' || req.auth?.kind === 'api_key')
          await withTenant(tenantIdOf(req), () => checkStores(req));
      });
      await v1.register(tenantRoutes(deps));
      await v1.register(ledgerRoutes(deps));
      await v1.register(identityRoutes(deps));
      await v1.register(memberRoutes(deps));
      await v1.register(gradeRoutes(deps));
      await v1.register(pointRoutes(deps));
      await v1.register(prepaidRoutes(deps));
      await v1.register(storeRoutes(deps));
      await v1.register(stampRoutes(deps));
      await v1.register(couponRoutes(deps));
      await v1.register(operatorRoutes(deps));
      await v1.register(checkoutRoutes(deps));
      // Identify the member at the counter (the app's barcode, a card, a phone).
      await v1.register(memberBarcodeRoutes(deps));
      await v1.register(identifyRoutes(deps));
      await v1.register(auditRoutes(deps));
      await v1.register(webhookRoutes(deps));
    },
    { prefix: '/v1' },
  );

  // /platform/v1: the platform operator, authenticated by MOA_PLATFORM_TOKEN.
  const platformToken = deps.config.platformToken === undefined ? undefined : sha256(deps.config.platformToken);
  await app.register(
    async (platform) => {
      platform.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ platformToken: [] }] };
        // The operator works across tenants (lists them, creates them): moa_system.
        handlerIn(route, (_req, fn) => asSystem(fn));
      });
      platform.addHook('onRequest', async (req) => {
        // A platform operator's session, or the bootstrap/automation token.
        const operator = req.headers.authorization === undefined ? await operatorAuth(deps, req) : undefined;
        if (operator) {
          if (operator.tenantId !== null || operator.stage !== 'full')
            throw new AppError('FORBIDDEN', 'The platform API needs a platform operator, signed in with a second factor.');
          req.auth = operator;
          return;
        }
        if (!platformToken)
          throw new AppError('UNAUTHENTICATED', 'The platform API is disabled: set MOA_PLATFORM_TOKEN to enable it.');
        if (!timingSafeEqual(sha256(bearerToken(req.headers.authorization)), platformToken)) {
          throw new AppError('UNAUTHENTICATED', 'The platform token is not valid.');
        }
        req.auth = { kind: 'platform' };
      });
      await platform.register(platformTenantRoutes(deps));
      await platform.register(platformIdentityRoutes(deps));
      await platform.register(platformOperatorRoutes(deps));
    },
    { prefix: '/platform/v1' },
  );

  // /_local/cli: the CLI beside the embedded server (src/platform/local-control.ts).
  if (options.localControl) registerLocalControl(app, deps, options.localControl.token, options.localControl.commands);

  // /auth: operator sign-in and sessions (public). The session lookup crosses tenants: moa_system.
  await app.register(
    async (auth) => {
      auth.addHook('onRoute', (route) => handlerIn(route, (_req, fn) => asSystem(fn)));
      await auth.register(operatorAuthRoutes(deps));
    },
    { prefix: '/auth' },
  );
  // GET /login: the operators' sign-in page (HTML; no database).
  await app.register(operatorLoginPage);

  // The sandbox identity, SNS, message and mail providers' pages: public, like a real provider's, and mounted only
  // while that sandbox is the configured provider (never in production: see config.ts). They find
  // the tenant from the request number in the URL, as a provider's callback would: moa_system.
  await app.register(async (sandbox) => {
    sandbox.addHook('onRoute', (route) => handlerIn(route, (_req, fn) => asSystem(fn)));
    if (deps.providers.identity.name === 'sandbox') await sandbox.register(sandboxRoutes(deps));
    if (deps.providers.social.sandbox) await sandbox.register(socialSandboxRoutes(deps));
    const messages = deps.providers.messages.name === 'sandbox';
    const mailbox = deps.providers.mail.name === 'mailbox';
    if (messages || mailbox) await sandbox.register(sandboxMessageRoutes(deps, { messages, mailbox }));
  });

  return app;
}
