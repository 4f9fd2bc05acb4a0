import { z } from 'zod';
import { AMOUNT_CEILING } from './platform/amounts.ts';
import { isTimeZone } from './platform/clock.ts';

// The only place that reads process.env. Parsed once at start-up, frozen, passed down in Deps.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/** 32 bytes, given as 64 hex characters or base64. */
export const parseMasterKey = (raw: string): Buffer | undefined => {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  return key.length === 32 ? key : undefined;
};

// Providers (identity, SNS login, payments, messages, mail). Their defaults are decided in loadConfig:
// sandbox only where a sandbox is allowed (embedded mode, or MOA_ALLOW_SANDBOX=true).
export const IDENTITY_PROVIDERS = ['sandbox', 'portone'] as const;
export const SOCIAL_PROVIDER_NAMES = ['sandbox', 'kakao', 'naver'] as const;
export const PAYMENT_PROVIDERS = ['sandbox', 'portone'] as const;
/** SMS and AlimTalk: the sandbox records messages; none turns both channels off (no real adapter yet). */
export const MESSAGE_PROVIDERS = ['sandbox', 'none'] as const;
/** E-mail: SMTP (nodemailer), or the sandbox mailbox (a table, read at /sandbox/mailbox). */
export const MAIL_PROVIDERS = ['smtp', 'mailbox'] as const;
export type SocialProviderName = (typeof SOCIAL_PROVIDER_NAMES)[number];

const socialList = z
  .string()
  .transform((v) =>
    v.trim().toLowerCase() === 'none'
      ? []
      : v
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean),
  )
  .pipe(z.array(z.enum(SOCIAL_PROVIDER_NAMES, { error: `a comma list of ${SOCIAL_PROVIDER_NAMES.join(', ')} (or none)` })))
  .transform((names) => [...new Set(names)]);
const baseUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, ''));

const ZProviderEnv = {
  IDENTITY_PROVIDER: z.enum(IDENTITY_PROVIDERS).optional(),
  SOCIAL_PROVIDERS: socialList.optional(),
  PAYMENT_PROVIDER: z.enum(PAYMENT_PROVIDERS).optional(),
  MESSAGE_PROVIDER: z.enum(MESSAGE_PROVIDERS).optional(),
  MAIL_PROVIDER: z.enum(MAIL_PROVIDERS).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).max(200).optional(),
  MOA_PUBLIC_URL: baseUrl.optional(),
  MOA_ALLOW_SANDBOX: bool.default(false),
  PORTONE_API_SECRET: z.string().min(1).optional(),
  PORTONE_API_BASE_URL: baseUrl.default('https://api.portone.io'),
  PORTONE_STORE_ID: z.string().min(1).optional(),
  KAKAO_CLIENT_ID: z.string().min(1).optional(),
  KAKAO_CLIENT_SECRET: z.string().min(1).optional(),
  KAKAO_ISSUER: baseUrl.default('https://kauth.kakao.com'),
  NAVER_CLIENT_ID: z.string().min(1).optional(),
  NAVER_CLIENT_SECRET: z.string().min(1).optional(),
  NAVER_AUTH_BASE_URL: baseUrl.default('https://nid.naver.com'),
  NAVER_API_BASE_URL: baseUrl.default('https://openapi.naver.com'),
};

const ZEnv = z.object({
  ...ZProviderEnv,
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_MIGRATION_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_RLS: bool.default(true),
  DATA_DIR: z.string().min(1).default('./data'),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  MOA_MASTER_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || parseMasterKey(v) !== undefined, 'must be 32 bytes as 64 hex characters or base64'),
  MOA_PLATFORM_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  MOA_CONSOLE_ORIGIN: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) origin such as https://console.moa.kr' })
    .transform((u) => new URL(u).origin)
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEFAULT_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Seoul').default('Asia/Seoul'),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  IDEMPOTENCY_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(24, 'keys are kept at least 24 hours')
    .max(24 * 90)
    .default(24),
  JOBS_ENABLED: bool.default(true),
  SEED_DEMO: bool.default(true),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  // Limits on secret checks (platform/limits.ts) and the client address they count by.
  TRUST_PROXY: z.string().default('false'),
  SECRET_RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).max(1_000_000).default(200),
  SECRET_RATE_LIMIT_PER_CREDENTIAL: z.coerce.number().int().min(0).max(1_000_000).default(20),
  SECRET_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(10_000_000).default(60_000),
  CARD_PIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  CARD_PIN_MAX_FAILURES_PER_MEMBER: z.coerce.number().int().min(1).max(1000).default(10),
  OPERATOR_CODES_PER_PHONE_DAY: z.coerce.number().int().min(1).max(1000).default(10),
  OPERATOR_CODES_PER_TENANT_DAY: z.coerce.number().int().min(1).max(1_000_000).default(500),
  MOA_MAX_AMOUNT: z.coerce.number().int().min(1).max(AMOUNT_CEILING).default(1_000_000_000_000),
  // The personal-data access log is kept at least 2 years (개인정보의 안전성 확보조치 기준 Art. 8①).
  ACCESS_LOG_RETENTION_MONTHS: z.coerce.number().int().min(24, 'the access log is kept at least 24 months').max(1200).default(24),
  // Webhooks (modules/webhooks): private addresses only for tests and a lab; the receiver's timeout.
  MOA_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  MOA_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  MOA_WEBHOOK_DISABLE_AFTER_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(120),
});

/** TRUST_PROXY: false (the socket's address), true (any proxy), or the proxies' addresses/CIDRs, comma-separated. */
const parseTrustProxy = (raw: string): boolean | string => {
  const v = raw.trim().toLowerCase();
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  return raw.trim();
};

export type Config = Readonly<{
  providers: ProvidersConfig;
  port: number;
  host: string;
  /** A PostgreSQL server; when absent the embedded PGlite database in dataDir is used. */
  databaseUrl: string | undefined;
  /** The tables' owner, for migrations only; DATABASE_URL when absent (src/platform/README.md, roles). */
  databaseMigrationUrl: string | undefined;
  /** false: never switch to moa_app/moa_system (no row-level security): the benchmark baseline only. */
  databaseRls: boolean;
  dataDir: string;
  dbPoolSize: number;
  /** How long a request waits for a database connection before it answers 503 (PostgreSQL). */
  dbConnectTimeoutMs: number;
  /** Set explicitly; embedded mode falls back to a generated key file (see main.ts). */
  masterKey: Buffer | undefined;
  platformToken: string | undefined;
  /**
   * The origin operators' browsers use (https://console.moa.kr): passkeys are bound to its host
   * (the WebAuthn relying party). Unset: the request's own host, as the CSRF check reads it.
   */
  consoleOrigin: string | undefined;
  logLevel: z.infer<typeof ZEnv>['LOG_LEVEL'];
  defaultTimeZone: string;
  bodyLimitBytes: number;
  idempotencyTtlHours: number;
  jobsEnabled: boolean;
  seedDemo: boolean;
  shutdownTimeoutMs: number;
  /** Fastify's trustProxy: whether req.ip comes from X-Forwarded-For. */
  trustProxy: boolean | string;
  limits: Readonly<{
    secretPerIp: number;
    secretPerCredential: number;
    secretWindowSeconds: number;
    /** Per API key and process, a minute; 0 = off. */
    apiPerMinute: number;
    cardPinFailures: number;
    cardPinFailuresPerMember: number;
    /** SMS/AlimTalk codes to operators a day (UTC), per phone number and per tenant (the platform counts as one). */
    operatorCodesPerPhoneDay: number;
    operatorCodesPerTenantDay: number;
  }>;
  /** The business maximum of any amount or computed total (won, points, stamps). */
  maxAmount: number;
  /** How long the access log keeps a row before the retention job may remove it (at least 24). */
  accessLogRetentionMonths: number;
  webhooks: Readonly<{
    /** MOA_WEBHOOK_ALLOW_PRIVATE: http:// and loopback/private addresses allowed (tests, a lab; never production). */
    allowPrivate: boolean;
    /** A receiver that has not answered in this many ms is timed out (the attempt fails and is retried). */
    timeoutMs: number;
    /** An endpoint whose every attempt failed for this long is disabled. */
    disableAfterHours: number;
  }>;
}>;

export type ProvidersConfig = Readonly<{
  identity: (typeof IDENTITY_PROVIDERS)[number];
  /** Enabled SNS logins, by name; empty: SNS login is off. */
  social: readonly SocialProviderName[];
  payment: (typeof PAYMENT_PROVIDERS)[number];
  messages: (typeof MESSAGE_PROVIDERS)[number];
  mail: Readonly<{
    provider: (typeof MAIL_PROVIDERS)[number];
    smtpUrl: string | undefined;
    from: string;
    /** Links in e-mails point here (never at a request's Host header); the request's own address when unset (mailbox only). */
    publicUrl: string | undefined;
  }>;
  /** MOA_ALLOW_SANDBOX: sandbox providers with DATABASE_URL (a shared test server, never production). */
  allowSandbox: boolean;
  portone: Readonly<{ apiSecret: string | undefined; apiBaseUrl: string; storeId: string | undefined }>;
  kakao: Readonly<{ clientId: string | undefined; clientSecret: string | undefined; issuer: string }>;
  naver: Readonly<{ clientId: string | undefined; clientSecret: string | undefined; authBaseUrl: string; apiBaseUrl: string }>;
}>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as shells and .env files commonly produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ZEnv.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;

  return Object.freeze({
    providers: providersConfig(e),
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseMigrationUrl: e.DATABASE_MIGRATION_URL,
    databaseRls: e.DATABASE_RLS,
    dataDir: e.DATA_DIR,
    dbPoolSize: e.DB_POOL_SIZE,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    masterKey: e.MOA_MASTER_KEY === undefined ? undefined : parseMasterKey(e.MOA_MASTER_KEY),
    platformToken: e.MOA_PLATFORM_TOKEN,
    consoleOrigin: e.MOA_CONSOLE_ORIGIN,
    logLevel: e.LOG_LEVEL,
    defaultTimeZone: e.DEFAULT_TIME_ZONE,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    jobsEnabled: e.JOBS_ENABLED,
    seedDemo: e.SEED_DEMO,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    limits: Object.freeze({
      secretPerIp: e.SECRET_RATE_LIMIT_PER_IP,
      secretPerCredential: e.SECRET_RATE_LIMIT_PER_CREDENTIAL,
      secretWindowSeconds: e.SECRET_RATE_LIMIT_WINDOW_SECONDS,
      apiPerMinute: e.API_RATE_LIMIT_PER_MINUTE,
      cardPinFailures: e.CARD_PIN_MAX_FAILURES,
      cardPinFailuresPerMember: e.CARD_PIN_MAX_FAILURES_PER_MEMBER,
      operatorCodesPerPhoneDay: e.OPERATOR_CODES_PER_PHONE_DAY,
      operatorCodesPerTenantDay: e.OPERATOR_CODES_PER_TENANT_DAY,
    }),
    maxAmount: e.MOA_MAX_AMOUNT,
    accessLogRetentionMonths: e.ACCESS_LOG_RETENTION_MONTHS,
    webhooks: Object.freeze({
      allowPrivate: e.MOA_WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: e.MOA_WEBHOOK_TIMEOUT_MS,
      disableAfterHours: e.MOA_WEBHOOK_DISABLE_AFTER_HOURS,
    }),
  });
}

/**
 * Which providers serve identity verification, SNS login, payments, messages and mail. A sandbox
 * provider accepts whatever a browser posts (or keeps what it should send), so it is the default
 * only in embedded mode; with DATABASE_URL every provider must be a real one unless
 * MOA_ALLOW_SANDBOX=true. With DATABASE_URL and nothing set, identity, payments, messages and mail
 * refuse (they have no safe default) and SNS login is off.
 */
function providersConfig(e: z.infer<typeof ZEnv>): ProvidersConfig {
  const sandboxAllowed = e.DATABASE_URL === undefined || e.MOA_ALLOW_SANDBOX;
  const identity = e.IDENTITY_PROVIDER ?? 'sandbox';
  const payment = e.PAYMENT_PROVIDER ?? 'sandbox';
  const social = e.SOCIAL_PROVIDERS ?? (sandboxAllowed ? ['sandbox' as const] : []);
  const messages = e.MESSAGE_PROVIDER ?? 'sandbox';
  const mail = e.MAIL_PROVIDER ?? (e.SMTP_URL ? 'smtp' : 'mailbox');

  const lines: string[] = [];
  if (!sandboxAllowed) {
    const sandboxes = [
      identity === 'sandbox' &&
        `  IDENTITY_PROVIDER is sandbox${e.IDENTITY_PROVIDER ? '' : ' (the default)'}: set IDENTITY_PROVIDER=portone`,
      payment === 'sandbox' &&
        `  PAYMENT_PROVIDER is sandbox${e.PAYMENT_PROVIDER ? '' : ' (the default)'}: set PAYMENT_PROVIDER=portone`,
      social.includes('sandbox') && '  SOCIAL_PROVIDERS includes sandbox: list only kakao, naver (or none)',
      messages === 'sandbox' &&
        `  MESSAGE_PROVIDER is sandbox${e.MESSAGE_PROVIDER ? '' : ' (the default)'}: set MESSAGE_PROVIDER=none (SMS and AlimTalk off)`,
      mail === 'mailbox' &&
        (e.MAIL_PROVIDER
          ? '  MAIL_PROVIDER is mailbox: set MAIL_PROVIDER=smtp with SMTP_URL, MAIL_FROM and MOA_PUBLIC_URL'
          : '  MAIL_PROVIDER is mailbox (the default without SMTP_URL): set SMTP_URL=smtp://… with MAIL_FROM and MOA_PUBLIC_URL'),
    ].filter((l): l is string => typeof l === 'string');
    if (sandboxes.length) {
      lines.push(
        'DATABASE_URL is set, so Moa refuses sandbox providers (they accept whatever a browser posts):',
        ...sandboxes,
        '  or, for a test server that must never hold real members, set MOA_ALLOW_SANDBOX=true.',
      );
    }
  }
  const need = (why: string, names: (keyof typeof e)[]) => {
    const missing = names.filter((n) => e[n] === undefined);
    if (missing.length) lines.push(`  ${missing.join(', ')}: required by ${why}`);
  };
  const secretsStart = lines.length;
  if (identity === 'portone') need('IDENTITY_PROVIDER=portone', ['PORTONE_API_SECRET', 'PORTONE_STORE_ID']);
  if (payment === 'portone') need('PAYMENT_PROVIDER=portone', ['PORTONE_API_SECRET', 'PORTONE_STORE_ID']);
  if (social.includes('kakao')) need('SOCIAL_PROVIDERS=kakao', ['KAKAO_CLIENT_ID', 'KAKAO_CLIENT_SECRET']);
  if (social.includes('naver')) need('SOCIAL_PROVIDERS=naver', ['NAVER_CLIENT_ID', 'NAVER_CLIENT_SECRET']);
  // Mail leaves the machine: a sender the relay accepts, and links that no request's Host header chose.
  if (mail === 'smtp') need('MAIL_PROVIDER=smtp', ['SMTP_URL', 'MAIL_FROM', 'MOA_PUBLIC_URL']);
  if (lines.length > secretsStart) lines.splice(secretsStart, 0, 'Missing provider settings:');
  if (lines.length) throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);

  return Object.freeze({
    identity,
    social: Object.freeze(social),
    payment,
    messages,
    mail: Object.freeze({
      provider: mail,
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? 'Moa <no-reply@moa.localhost>',
      publicUrl: e.MOA_PUBLIC_URL,
    }),
    allowSandbox: e.MOA_ALLOW_SANDBOX,
    portone: Object.freeze({ apiSecret: e.PORTONE_API_SECRET, apiBaseUrl: e.PORTONE_API_BASE_URL, storeId: e.PORTONE_STORE_ID }),
    kakao: Object.freeze({ clientId: e.KAKAO_CLIENT_ID, clientSecret: e.KAKAO_CLIENT_SECRET, issuer: e.KAKAO_ISSUER }),
    naver: Object.freeze({
      clientId: e.NAVER_CLIENT_ID,
      clientSecret: e.NAVER_CLIENT_SECRET,
      authBaseUrl: e.NAVER_AUTH_BASE_URL,
      apiBaseUrl: e.NAVER_API_BASE_URL,
    }),
  });
}
