import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type FastifyPluginAsyncZod,
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
} from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import type { Deps } from './deps.ts';
import { AppError, ERROR_CODES, type ErrorCode, type FieldError, fromDatabaseError, isAppError, toProblem } from './errors.ts';
import { webhooksDocument } from './events.ts';
import { ZProblem } from './http-schemas.ts';
import { ulid } from './ids.ts';

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** Uses the caller's X-Request-Id when it is well-formed, so one id follows a request across systems. */
export function requestIdFor(req: { headers: Record<string, unknown> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${ulid()}`;
}

function validationError(err: FastifyError): AppError {
  const where = err.validationContext ?? 'body';
  const errors: FieldError[] = (err.validation ?? []).map((v) => {
    const path = v.instancePath.split('/').filter(Boolean);
    return { field: [where, ...path].join('.'), message: v.message ?? 'is invalid', code: String(v.keyword) };
  });
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return new AppError('VALIDATION_FAILED', summary || 'The request is invalid.', undefined, errors);
}

/** Every failure, ours or the framework's, as one AppError; undefined means a bug. */
function toAppError(err: FastifyError): AppError | undefined {
  if (isAppError(err)) return err;
  if (hasZodFastifySchemaValidationErrors(err) || err.validation) return validationError(err);
  const fromDb = fromDatabaseError(err);
  if (fromDb) return fromDb;
  switch (err.statusCode) {
    case 413:
      return new AppError('PAYLOAD_TOO_LARGE', err.message);
    case 415:
      return new AppError('UNSUPPORTED_MEDIA_TYPE', err.message);
    case 503:
      return new AppError('SERVICE_UNAVAILABLE', err.message);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AppError('BAD_REQUEST', err.message);
  return undefined;
}

export function sendProblem(req: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="moa"');
  if (error.code === 'IDEMPOTENCY_IN_FLIGHT' || error.code === 'SERVICE_UNAVAILABLE') reply.header('retry-after', '1');
  const retryAfter = error.details?.retryAfterSeconds;
  if (
    (error.code === 'RATE_LIMITED' || error.code === 'LOGIN_LOCKED' || error.code === 'CARD_PIN_LOCKED') &&
    typeof retryAfter === 'number'
  ) {
    reply.header('retry-after', String(retryAfter));
  }
  return reply
    .code(error.status)
    .type('application/problem+json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(toProblem(error, req.url, req.id));
}

const API_DESCRIPTION = `
The Moa API for a brand's app, web shop, POS and servers.

**Authentication.** \`Authorization: Bearer <api key>\` on every \`/v1\` route. Keys have a scope:
\`pos\`, \`app\` or \`server\`. Platform routes (\`/platform/v1\`) take the platform operator token.

**Idempotency.** Writes accept an \`Idempotency-Key\` header. Retrying with the same key and body
returns the first response (\`Idempotent-Replayed: true\`) without a second effect; the same key
with a different request is rejected with 422 \`IDEMPOTENCY_KEY_REUSED\`; while the first request is
still running a duplicate gets 409 \`IDEMPOTENCY_IN_FLIGHT\`. Keys are kept at least 24 hours.

**Errors.** Every error is \`application/problem+json\` with a stable \`code\` (see \`GET /problems\`);
validation errors list each failing field in \`errors\`, business rejections carry the values
involved in \`details\`. Every response has an \`X-Request-Id\` (send your own to correlate).
`.trim();

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="36" viewBox="0 0 120 36">
<circle cx="18" cy="18" r="16" fill="#ff6b35"/><circle cx="18" cy="18" r="7" fill="#fff"/>
<text x="42" y="26" font-family="sans-serif" font-size="22" font-weight="700" fill="#fff">Moa</text></svg>`;

/** Platform HTTP: errors, security headers, request ids, health, OpenAPI and its docs page. */
export async function registerPlatformHttp(
  app: FastifyInstance,
  deps: Pick<Deps, 'db' | 'config'> & { version: string; engine: string },
) {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let error = toAppError(err);
    if (!error) {
      req.log.error({ err }, 'unexpected error');
      error = new AppError('INTERNAL', 'An unexpected error occurred. Quote the request id when reporting it.');
    } else if (error.status >= 500) {
      req.log.error({ err }, error.message);
    }
    return sendProblem(req, reply, error);
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(req, reply, new AppError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`)),
  );

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      // Served over plain HTTP behind a TLS proxy or on a closed network: never rewrite to https.
      directives: { upgradeInsecureRequests: null },
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Moa API', version: deps.version, description: API_DESCRIPTION },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key: moa_<scope>_…' },
          platformToken: { type: 'http', scheme: 'bearer', description: 'The platform operator token (MOA_PLATFORM_TOKEN).' },
          operatorSession: {
            type: 'apiKey',
            in: 'cookie',
            name: '__Host-moa_operator',
            description:
              'An operator’s console session (POST /auth/login, then a second factor). State-changing requests must come from the same Origin, as JSON.',
          },
        },
      },
      tags: [
        { name: 'Tenant', description: 'The brand behind the API key' },
        { name: 'Identity', description: 'Identity verification (본인확인) through a provider, and its unit billing' },
        { name: 'Members', description: 'Sign-up, login, sessions and account recovery of a brand’s members' },
        { name: 'Grades', description: 'Grade levels (등급), the purchases they are judged on, reviews and manual changes' },
        { name: 'Ledger', description: 'Accounts, balances and history (read-only; value moves through the currency modules)' },
        { name: 'Platform', description: 'Platform operator: tenants and API keys' },
        {
          name: 'Operator sign-in',
          description: 'Console sign-in: password, second factor (TOTP, recovery codes), sessions, invitations',
        },
        { name: 'Operators', description: 'The brand’s operators, roles and permissions, and the log of access changes' },
        { name: 'Operations', description: 'Health, readiness and the error catalogue' },
      ],
    },
    transform: jsonSchemaTransform,
    // The webhooks the brand's endpoints receive, from the event catalogue (platform/events.ts).
    transformObject: (input) => ({
      ...jsonSchemaTransformObject(input),
      webhooks: webhooksDocument() as OpenAPIV3_1.Document['webhooks'],
    }),
  });
  // Swagger UI's own files from node_modules: no CDN, works on a closed network.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO_SVG), href: '/docs', target: '_self' },
    theme: { title: 'Moa API' },
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, '').replace(' validator.swagger.io', ''),
    uiConfig: { deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, validatorUrl: null },
  });

  await app.register(operationsRoutes(deps));
}

function operationsRoutes(deps: Pick<Deps, 'db'> & { engine: string }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    app.get('/health', {
      schema: {
        tags: ['Operations'],
        summary: 'Liveness: the process is up',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
      handler: async () => ({ status: 'ok' as const }),
    });

    app.get('/ready', {
      schema: {
        tags: ['Operations'],
        summary: 'Readiness: the database answers',
        response: { 200: z.object({ status: z.literal('ready'), database: z.string() }), 503: ZProblem },
      },
      handler: async (req) => {
        try {
          await sql`select 1`.execute(deps.db);
        } catch (err) {
          req.log.error({ err }, 'readiness check failed');
          throw new AppError('SERVICE_UNAVAILABLE', 'The database is not reachable.');
        }
        return { status: 'ready' as const, database: deps.engine };
      },
    });

    const ZErrorCodeInfo = z.object({ code: z.string(), status: z.number(), title: z.string(), description: z.string() });
    const info = (code: ErrorCode) => ({ code, ...ERROR_CODES[code] });

    app.get('/problems', {
      schema: {
        tags: ['Operations'],
        summary: 'Every error code the API returns, with its HTTP status',
        response: { 200: z.object({ items: z.array(ZErrorCodeInfo) }) },
      },
      handler: async () => ({ items: (Object.keys(ERROR_CODES) as ErrorCode[]).map(info) }),
    });

    app.get('/problems/:code', {
      schema: {
        tags: ['Operations'],
        summary: 'One error code (the `type` of a problem document points here)',
        params: z.object({ code: z.string() }),
        response: { 200: ZErrorCodeInfo, 404: ZProblem },
      },
      handler: async (req) => {
        if (!Object.hasOwn(ERROR_CODES, req.params.code))
          throw new AppError('NOT_FOUND', `Unknown error code ${req.params.code}.`);
        return info(req.params.code as ErrorCode);
      },
    });
  };
}

/** Text made safe to put into HTML (content or a quoted attribute). */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * For a plugin that serves an HTML form (the sandbox providers' pages): form posts parse into a
 * plain object of strings, and replies are HTML under a strict CSP whose form-action is given.
 */
export function htmlForms(app: FastifyInstance) {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  return (reply: FastifyReply, status: number, body: string, formAction = "'self'") =>
    reply
      .code(status)
      .header(
        'content-security-policy',
        `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; base-uri 'none'; frame-ancestors 'none'`,
      )
      .type('text/html; charset=utf-8')
      .send(body);
}
