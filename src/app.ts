import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { gradeRoutes } from './modules/grades/index.ts';
import { identityRoutes, platformIdentityRoutes, sandboxRoutes } from './modules/identity/index.ts';
import { ledgerRoutes } from './modules/ledger/index.ts';
import { memberRoutes, socialSandboxRoutes } from './modules/members/index.ts';
import { pointRoutes } from './modules/points/index.ts';
import { checkoutRoutes } from './modules/checkout/index.ts';
import { couponRoutes } from './modules/coupons/index.ts';
import { prepaidRoutes } from './modules/prepaid/index.ts';
import { stampRoutes } from './modules/stamps/index.ts';
import { storeRoutes } from './modules/stores/index.ts';
import { createApiKeyAuthenticator, platformTenantRoutes, tenantRoutes } from './modules/tenants/index.ts';
import type { Deps } from './platform/deps.ts';
import { AppError } from './platform/errors.ts';
import { registerPlatformHttp, requestIdFor } from './platform/http.ts';
import { declareRouteHeaders } from './platform/http-schemas.ts';
import { requireIdempotencyKey } from './platform/idempotency.ts';
import { checkScope, declareScopes, requireSessionToken } from './platform/request-context.ts';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export type AppOptions = { engine: string };

function bearerToken(header: string | undefined): string {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <API key>.');
  return match[1]!;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

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
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
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
      // Every route declares its API key scopes (start-up fails otherwise), enforced here once.
      v1.addHook('onRoute', declareScopes);
      v1.addHook('onRequest', async (req) => {
        req.auth = await authenticate(bearerToken(req.headers.authorization));
        checkScope(req);
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
      await v1.register(checkoutRoutes(deps));
    },
    { prefix: '/v1' },
  );

  // /platform/v1: the platform operator, authenticated by MOA_PLATFORM_TOKEN.
  const platformToken = deps.config.platformToken === undefined ? undefined : sha256(deps.config.platformToken);
  await app.register(
    async (platform) => {
      platform.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ platformToken: [] }] };
      });
      platform.addHook('onRequest', async (req) => {
        if (!platformToken) throw new AppError('UNAUTHENTICATED', 'The platform API is disabled: set MOA_PLATFORM_TOKEN to enable it.');
        if (!timingSafeEqual(sha256(bearerToken(req.headers.authorization)), platformToken)) {
          throw new AppError('UNAUTHENTICATED', 'The platform token is not valid.');
        }
        req.auth = { kind: 'platform' };
      });
      await platform.register(platformTenantRoutes(deps));
      await platform.register(platformIdentityRoutes(deps));
    },
    { prefix: '/platform/v1' },
  );

  // The sandbox identity and SNS providers' pages: public, like a real provider's.
  await app.register(sandboxRoutes(deps));
  await app.register(socialSandboxRoutes(deps));

  return app;
}
