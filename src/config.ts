import { z } from 'zod';
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

const ZEnv = z.object({
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
  MOA_MASTER_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || parseMasterKey(v) !== undefined, 'must be 32 bytes as 64 hex characters or base64'),
  MOA_PLATFORM_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEFAULT_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Seoul').default('Asia/Seoul'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(24, 'keys are kept at least 24 hours').max(24 * 90).default(24),
  JOBS_ENABLED: bool.default(true),
  SEED_DEMO: bool.default(true),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
});

export type Config = Readonly<{
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
  /** Set explicitly; embedded mode falls back to a generated key file (see main.ts). */
  masterKey: Buffer | undefined;
  platformToken: string | undefined;
  logLevel: z.infer<typeof ZEnv>['LOG_LEVEL'];
  defaultTimeZone: string;
  bodyLimitBytes: number;
  idempotencyTtlHours: number;
  jobsEnabled: boolean;
  seedDemo: boolean;
  shutdownTimeoutMs: number;
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
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseMigrationUrl: e.DATABASE_MIGRATION_URL,
    databaseRls: e.DATABASE_RLS,
    dataDir: e.DATA_DIR,
    dbPoolSize: e.DB_POOL_SIZE,
    masterKey: e.MOA_MASTER_KEY === undefined ? undefined : parseMasterKey(e.MOA_MASTER_KEY),
    platformToken: e.MOA_PLATFORM_TOKEN,
    logLevel: e.LOG_LEVEL,
    defaultTimeZone: e.DEFAULT_TIME_ZONE,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    jobsEnabled: e.JOBS_ENABLED,
    seedDemo: e.SEED_DEMO,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  });
}
