import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp, VERSION } from './app.ts';
import { CLI_COMMANDS } from './cli-commands.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { purgeAccessLogs } from './modules/audit/index.ts';
import { registerCouponHandlers, reportCouponExpiries, runBirthdayCoupons } from './modules/coupons/index.ts';
import { runGradeReviews } from './modules/grades/index.ts';
import { settleDueVerifications } from './modules/identity/index.ts';
import { expireHolds, expireLots, rollupDeferred } from './modules/ledger/index.ts';
import { importMembers, purgeWithdrawn, runDormancy } from './modules/members/index.ts';
import { registerMessageHandlers } from './modules/messages/index.ts';
import { registerPointHandlers, sendExpiryNotices } from './modules/points/index.ts';
import { registerPrepaidHandlers, runDueAutoCharges } from './modules/prepaid/index.ts';
import * as tenants from './modules/tenants/index.ts';
import { purgeWebhookHistory, registerWebhookHandlers, runWebhookDeliveries } from './modules/webhooks/index.ts';
import { systemClock } from './platform/clock.ts';
import { DataDirInUseError, embeddedMasterKey } from './platform/data-dir.ts';
import { createDatabase, type Database } from './platform/db.ts';
import { asSystem } from './platform/db-context.ts';
import type { Deps } from './platform/deps.ts';
import { isAppError } from './platform/errors.ts';
import { purgeExpiredIdempotencyKeys } from './platform/idempotency.ts';
import { startJobs } from './platform/jobs.ts';
import { purgeLimitRows } from './platform/limits.ts';
import {
  callServer,
  type LocalCommand,
  liveServer,
  newLocalToken,
  ServerUnreachableError,
  writeServerFile,
} from './platform/local-control.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { migrate } from './platform/migrate.ts';
import { createOutboxWorker } from './platform/outbox.ts';
import type { PiiDomain } from './platform/pii.ts';
import { loadPiiKeys, PII_DOMAINS } from './platform/pii-keys.ts';
import { createProviders } from './providers.ts';
import { DEMO_MANAGER, DEMO_MEMBER_PASSWORD, type DemoOperator, seedDemo } from './seed.ts';

// The command line: `moa <command>` (npx moa …, or npm run moa -- …). `npm start` runs `serve`.

const USAGE = `Moa ${VERSION}: the membership & loyalty cloud

Usage: moa <command> [options]

  serve                                   start the API server (what npm start runs)
  migrate                                 apply database migrations and exit
  keys rotate [--domain pii|dormant]      add a personal-data key, make it current, re-seal every value
  seed --demo                             create the demo tenant "Moa Cafe" (once) and print its API key
  tenant create --name <name> --brn <business registration number>
                [--time-zone <IANA zone>] [--locale ko-KR|en-US]
  tenant list                             list tenants
  apikey create --tenant <tnt_…> --scope <pos|app|server> --name <label> [--store <store id> (pos: bound to it)]
  apikey list --tenant <tnt_…>
  apikey revoke --tenant <tnt_…> --key <key_…>
  verification grant --tenant <tnt_…> --units <n> [--memo <text>]
                                          add identity verification units to a tenant
  members import --tenant <tnt_…> --file <members.csv> [--id <import id>]
                                          import members from CSV; run again with the same id to resume
  audit verify [--tenant <tnt_…>]         recompute the personal-data access log's hash chain of every
                                          tenant (or one); exit status 1 when a chain is broken
  audit export --tenant <tnt_…> [--from <date|instant>] [--to <date|instant>]
                                          the tenant's access log as CSV on stdout (> access-log.csv);
                                          dates are the tenant's, --to inclusive
  operator invite --tenant <tnt_…> --email <e-mail> --name <name> --role <role>
                                          invite a console operator; prints the link to accept it
                                          (roles: owner, admin, marketer, cs, store_ops, auditor, rol_…)
  operator list --tenant <tnt_…>           the tenant's operators and open invitations
  operator suspend --tenant <tnt_…> --operator <opr_…>
                                          suspend an operator: every session ends at once
  help                                    this text

While 'moa serve' runs on the embedded database, tenant, apikey, verification, keys, operator and
audit commands are carried out by that server (it names itself in DATA_DIR/server.json); the others
need it stopped. With DATABASE_URL every command works on the database directly.

Configuration comes from environment variables (see README.md): DATABASE_URL (a PostgreSQL
server; embedded PGlite in DATA_DIR, default ./data, when unset), PORT, HOST, MOA_MASTER_KEY,
MOA_PLATFORM_TOKEN, LOG_LEVEL, DEFAULT_TIME_ZONE; the providers IDENTITY_PROVIDER, PAYMENT_PROVIDER
(sandbox | portone), SOCIAL_PROVIDERS (sandbox, kakao, naver or none), MESSAGE_PROVIDER (sandbox | none)
and SMTP_URL with MAIL_FROM and MOA_PUBLIC_URL (e-mail; the sandbox mailbox when unset). With DATABASE_URL
a sandbox provider refuses to start unless MOA_ALLOW_SANDBOX=true.`;

class UsageError extends Error {
  readonly showUsage: boolean;
  constructor(message: string, showUsage = true) {
    super(message);
    this.showUsage = showUsage;
  }
}

function options<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function required(values: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => typeof values[n] !== 'string' || values[n] === '');
  if (missing.length) throw new UsageError(`missing ${missing.map((n) => `--${n}`).join(', ')}`);
}

async function openDatabase(config: Config, log: Logger): Promise<Database> {
  // Migrations run as the tables' owner: DATABASE_MIGRATION_URL when the application's login is
  // another role, else the login itself (src/platform/README.md, roles and row-level security).
  if (config.databaseUrl && config.databaseMigrationUrl) {
    const owner = await createDatabase({ databaseUrl: config.databaseMigrationUrl, poolSize: 1 });
    try {
      const report = await migrate(owner);
      if (report.applied.length) log.info({ applied: report.applied }, 'database migrated');
    } finally {
      await owner.close();
    }
  }
  const database = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolSize: config.dbPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    roles: config.databaseRls,
  });
  if (!config.databaseRls)
    log.warn(
      'DATABASE_RLS=false: every query runs as the login, without row-level security (a benchmark baseline, never production)',
    );
  try {
    if (!(config.databaseUrl && config.databaseMigrationUrl)) {
      const report = await migrate(database);
      if (report.applied.length) log.info({ applied: report.applied }, 'database migrated');
    }
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

/** Short-lived commands: open, run, close. */
async function withDatabase(config: Config, fn: (deps: Pick<Deps, 'db' | 'config'>) => Promise<void>) {
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  try {
    // Operator commands work across tenants (tenant create/list, keys rotate): moa_system.
    await asSystem(() => fn({ db: database.db, config }));
  } finally {
    await database.close();
  }
}

/** The server's address as `serve` prints it, for links a command prints without a server. */
function baseUrl(config: Config, port = config.port): string {
  return `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
}

/**
 * Runs one of CLI_COMMANDS: through the server running on the embedded database when
 * DATA_DIR/server.json names a live one, otherwise on a connection of its own.
 */
async function runCommand(config: Config, name: keyof typeof CLI_COMMANDS, raw: Record<string, unknown>): Promise<void> {
  const command: LocalCommand = CLI_COMMANDS[name];
  const parsed = command.input.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '), false);
  }
  const show = (result: unknown) => {
    process.stdout.write(command.print ? command.print(result) : `${JSON.stringify(result, null, 2)}\n`);
    if (command.exitCode) process.exitCode = command.exitCode(result);
  };
  const server = config.databaseUrl ? undefined : liveServer(config.dataDir);
  if (server) {
    try {
      return show(await callServer(server, name, raw));
    } catch (err) {
      // Gone without removing its file (killed): nothing was sent; work on the database.
      if (!(err instanceof ServerUnreachableError)) throw err;
    }
  }
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  try {
    await asSystem(async () => {
      const basic = { config, db: database.db, log, clock: systemClock };
      const ctx = { baseUrl: baseUrl(config) };
      if (!command.pii) return show(await command.run(basic, parsed.data, ctx));
      const key = await piiKey(config, log, database.db);
      const deps: Deps = {
        ...basic,
        outbox: createOutboxWorker({ db: database.db, log }),
        masterKey: key,
        providers: createProviders(config, { db: database.db, masterKey: key, clock: systemClock }),
      };
      show(await command.run(deps, parsed.data, ctx));
    });
  } finally {
    await database.close();
  }
}

function masterKey(config: Config, log: Logger): Buffer {
  if (config.masterKey) return config.masterKey;
  if (config.databaseUrl) {
    throw new ConfigError('MOA_MASTER_KEY must be set when DATABASE_URL is set (32 bytes, base64 or 64 hex characters).');
  }
  const { key, created } = embeddedMasterKey(config.dataDir);
  log.warn(
    { file: `${config.dataDir}/master.key`, created },
    'MOA_MASTER_KEY is not set: using the key generated in the data folder. Production must set MOA_MASTER_KEY (and keep it out of the data folder).',
  );
  return key;
}

/** The master key, with the personal-data keys rotation added installed for it. */
async function piiKey(config: Config, log: Logger, db: Deps['db']): Promise<Buffer> {
  const key = masterKey(config, log);
  await loadPiiKeys(db, key);
  return key;
}

async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const key = masterKey(config, log);
  const database = await openDatabase(config, log);
  const outbox = createOutboxWorker({ db: database.db, log });
  const deps: Deps = {
    config,
    db: database.db,
    log,
    clock: systemClock,
    outbox,
    masterKey: key,
    providers: createProviders(config, { db: database.db, masterKey: key, clock: systemClock }),
  };
  await loadPiiKeys(database.db, key);
  registerPointHandlers(deps);
  registerPrepaidHandlers(deps);
  registerCouponHandlers(deps);
  registerMessageHandlers(deps);
  registerWebhookHandlers(deps);

  let demo: Awaited<ReturnType<typeof seedDemo>> | undefined;
  if (database.engine === 'pglite') await database.analyze();
  // The demo is made through the sandbox providers' pages; with real providers there is none.
  const sandboxes = config.providers.identity === 'sandbox' && config.providers.payment === 'sandbox';
  if (database.engine === 'pglite' && config.seedDemo && sandboxes) {
    demo = await asSystem(async () => {
      const { items } = await tenants.listTenants(deps, { limit: 1 });
      return items.length === 0 ? seedDemo(deps) : undefined;
    });
  }

  // The embedded database is this process's alone: CLI commands come to it over HTTP (server.json).
  const localToken = database.engine === 'pglite' ? newLocalToken() : undefined;
  const app = await buildApp(deps, {
    engine: database.engine,
    ...(localToken ? { localControl: { token: localToken, commands: CLI_COMMANDS } } : {}),
  });
  await app.listen({ port: config.port, host: config.host });
  const jobs = config.jobsEnabled
    ? startJobs(log, [
        { name: 'idempotency.purge', everyMs: 3_600_000, run: () => purgeExpiredIdempotencyKeys(deps.db) },
        { name: 'limits.purge', everyMs: 600_000, run: () => purgeLimitRows(deps.db, deps.clock.now()) },
        { name: 'ledger.rollup', everyMs: 1_000, run: () => rollupDeferred(deps) },
        { name: 'ledger.expire-holds', everyMs: 5_000, run: () => expireHolds(deps) },
        { name: 'ledger.expire-lots', everyMs: 60_000, run: () => expireLots(deps) },
        { name: 'identity.settle', everyMs: 30_000, run: () => settleDueVerifications(deps) },
        { name: 'members.dormancy', everyMs: 3_600_000, run: () => runDormancy(deps) },
        { name: 'members.purge', everyMs: 3_600_000, run: () => purgeWithdrawn(deps) },
        { name: 'grades.review', everyMs: 3_600_000, run: () => runGradeReviews(deps) },
        { name: 'points.expiry-notices', everyMs: 3_600_000, run: () => sendExpiryNotices(deps) },
        { name: 'prepaid.auto-charge', everyMs: 60_000, run: () => runDueAutoCharges(deps) },
        { name: 'coupons.birthday', everyMs: 3_600_000, run: () => runBirthdayCoupons(deps) },
        // coupon.expired events (webhooks): coupons whose validity ended.
        { name: 'coupons.expiries', everyMs: 300_000, run: () => reportCouponExpiries(deps) },
        // Webhook deliveries: heads of each endpoint's member queues, due by the retry schedule.
        { name: 'webhooks.deliver', everyMs: 250, run: () => runWebhookDeliveries(deps) },
        { name: 'webhooks.purge', everyMs: 3_600_000, run: () => purgeWebhookHistory(deps) },
        // Access-log rows past the retention (never under 2 years), verified before they go.
        { name: 'audit.retention', everyMs: 86_400_000, run: () => purgeAccessLogs(deps) },
        // Another process may have rotated the personal-data key.
        { name: 'pii.keys', everyMs: 60_000, run: () => loadPiiKeys(deps.db, key) },
        // The embedded database has no autovacuum: keep the planner's statistics current.
        ...(database.engine === 'pglite' ? [{ name: 'db.analyze', everyMs: 600_000, run: () => database.analyze() }] : []),
      ])
    : undefined;
  if (config.jobsEnabled) outbox.start();

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = baseUrl(config, port);
  const removeServerFile = localToken ? writeServerFile(config.dataDir, { url: base, token: localToken }) : () => {};
  process.on('exit', removeServerFile);
  const lines = [
    '',
    `Moa ${VERSION} is running on ${database.engine === 'pglite' ? `embedded PGlite (${config.dataDir})` : 'PostgreSQL'}`,
    `  API docs   ${base}/docs`,
    `  OpenAPI    ${base}/openapi.json`,
    `  Health     ${base}/health`,
  ];
  if (demo?.apiKey) {
    lines.push(
      '',
      `Demo tenant "${demo.tenant.name}" (${demo.tenant.id}) was created. Its API key is shown once:`,
      `  ${demo.apiKey}`,
      `  curl -H "Authorization: Bearer ${demo.apiKey}" ${base}/v1/tenant`,
      `  A sample points wallet and its history: ${base}/v1/ledger/accounts/${demo.sampleAccountId}/entries`,
      `  Demo members (password ${DEMO_MEMBER_PASSWORD}): hong.gd and kim.mj are active, park.sy is dormant, smith.j withdrew.`,
      `  Demo store manager of 모아카페 강남점: ${DEMO_MANAGER.loginId}, password ${DEMO_MANAGER.password} (POST /v1/store-managers/login).`,
      `  Identity verification sandbox: POST ${base}/v1/identity/verifications, then open the redirectUrl it returns.`,
      ...operatorLines(demo.operators ?? [], base),
    );
  }
  lines.push('');
  process.stdout.write(`${lines.join('\n')}\n`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    // CLI commands from now on open the database themselves (once this process has let it go).
    removeServerFile();
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests
      await jobs?.stop();
      await outbox.stop();
      await database.close();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The demo's console operators in the banner: their password and TOTP secret are shown this once. */
function operatorLines(operators: DemoOperator[], base: string): string[] {
  if (!operators.length) return [];
  return [
    '',
    `Demo console operators, shown once (sign in at ${base}/login with the password, then a code from an authenticator app`,
    'to which you add the TOTP secret, or scan the otpauth URI as a QR code):',
    ...operators.flatMap((o) => [
      `  ${o.role.padEnd(5)} ${o.email}  password ${o.password}  TOTP secret ${o.totpSecret}`,
      `        ${o.totpUri}`,
    ]),
  ];
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function run(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  const config = loadConfig();

  switch (command) {
    case 'serve':
      options(argv.slice(1), {});
      return serve(config);

    case 'migrate': {
      options(argv.slice(1), {});
      const log = createLogger('warn');
      const database = await openDatabase(
        config.databaseMigrationUrl ? { ...config, databaseUrl: config.databaseMigrationUrl } : config,
        log,
      );
      const report = await migrate(database);
      await database.close();
      process.stdout.write(`migrations: ${report.alreadyApplied} applied, nothing left to do\n`);
      return;
    }

    case 'seed': {
      const values = options(argv.slice(1), { demo: { type: 'boolean' } });
      if (!values.demo) throw new UsageError('seed needs --demo');
      if (config.providers.identity !== 'sandbox' || config.providers.payment !== 'sandbox') {
        throw new UsageError(
          'the demo is made through the sandbox providers: it needs IDENTITY_PROVIDER=sandbox and PAYMENT_PROVIDER=sandbox',
          false,
        );
      }
      return withDatabase(config, async (deps) => {
        const log = createLogger('warn');
        const key = await piiKey(config, log, deps.db);
        const providers = createProviders(config, { db: deps.db, masterKey: key, clock: systemClock });
        const result = await seedDemo({ ...deps, clock: systemClock, log, masterKey: key, providers });
        if (result.created) {
          const lines = [
            `Created demo tenant "${result.tenant.name}" (${result.tenant.id}).`,
            `API key (shown once): ${result.apiKey}`,
            ...operatorLines(result.operators ?? [], baseUrl(config)),
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
        } else {
          process.stdout.write(
            `Demo tenant "${result.tenant.name}" (${result.tenant.id}) already exists. Keys are shown only when created:\n` +
              `  npx moa apikey create --tenant ${result.tenant.id} --scope server --name "demo"\n`,
          );
        }
      });
    }

    case 'tenant': {
      if (sub === 'create') {
        const v = options(rest, {
          name: { type: 'string' },
          brn: { type: 'string' },
          'time-zone': { type: 'string' },
          locale: { type: 'string' },
        });
        required(v, 'name', 'brn');
        return runCommand(config, 'tenant.create', {
          name: v.name,
          businessRegistrationNumber: v.brn,
          timeZone: v['time-zone'],
          locale: v.locale,
        });
      }
      if (sub === 'list') {
        options(rest, {});
        return runCommand(config, 'tenant.list', {});
      }
      throw new UsageError(`unknown tenant command: ${sub ?? '(none)'}`);
    }

    case 'apikey': {
      if (sub === 'create') {
        const v = options(rest, {
          tenant: { type: 'string' },
          scope: { type: 'string' },
          name: { type: 'string' },
          store: { type: 'string' },
        });
        required(v, 'tenant', 'scope', 'name');
        if (!tenants.ZCreateApiKeyRequest.safeParse({ name: v.name, scope: v.scope, storeId: v.store }).success)
          throw new UsageError('--scope must be pos, app or server; --name 1-100 characters; --store up to 40 characters', false);
        if (v.store !== undefined && v.scope !== 'pos') throw new UsageError('--store binds a pos key only', false);
        return runCommand(config, 'apikey.create', {
          tenantId: v.tenant,
          name: v.name,
          scope: v.scope,
          ...(v.store === undefined ? {} : { storeId: v.store }),
        });
      }
      if (sub === 'list') {
        const v = options(rest, { tenant: { type: 'string' } });
        required(v, 'tenant');
        return runCommand(config, 'apikey.list', { tenantId: v.tenant });
      }
      if (sub === 'revoke') {
        const v = options(rest, { tenant: { type: 'string' }, key: { type: 'string' } });
        required(v, 'tenant', 'key');
        return runCommand(config, 'apikey.revoke', { tenantId: v.tenant, keyId: v.key });
      }
      throw new UsageError(`unknown apikey command: ${sub ?? '(none)'}`);
    }

    case 'keys': {
      if (sub !== 'rotate') throw new UsageError(`unknown keys command: ${sub ?? '(none)'}`);
      const v = options(rest, { domain: { type: 'string' } });
      if (v.domain !== undefined && !PII_DOMAINS.includes(v.domain as PiiDomain))
        throw new UsageError('--domain must be pii or dormant', false);
      return runCommand(config, 'keys.rotate', { domains: v.domain ? [v.domain] : PII_DOMAINS });
    }

    case 'operator': {
      if (sub === 'invite') {
        const v = options(rest, {
          tenant: { type: 'string' },
          email: { type: 'string' },
          name: { type: 'string' },
          role: { type: 'string' },
        });
        required(v, 'tenant', 'email', 'name', 'role');
        return runCommand(config, 'operator.invite', { tenantId: v.tenant, email: v.email, name: v.name, role: v.role });
      }
      if (sub === 'list') {
        const v = options(rest, { tenant: { type: 'string' } });
        required(v, 'tenant');
        return runCommand(config, 'operator.list', { tenantId: v.tenant });
      }
      if (sub === 'suspend') {
        const v = options(rest, { tenant: { type: 'string' }, operator: { type: 'string' } });
        required(v, 'tenant', 'operator');
        return runCommand(config, 'operator.suspend', { tenantId: v.tenant, operatorId: v.operator });
      }
      throw new UsageError(`unknown operator command: ${sub ?? '(none)'}`);
    }

    case 'members': {
      if (sub !== 'import') throw new UsageError(`unknown members command: ${sub ?? '(none)'}`);
      const v = options(rest, { tenant: { type: 'string' }, file: { type: 'string' }, id: { type: 'string' } });
      required(v, 'tenant', 'file');
      if (!existsSync(v.file!)) throw new UsageError(`no file ${v.file}`, false);
      const importId =
        v.id ??
        basename(v.file!)
          .replace(/[^A-Za-z0-9_.-]/g, '_')
          .slice(0, 64);
      return withDatabase(config, async (deps) => {
        const log = createLogger('warn');
        const summary = await importMembers(
          { ...deps, clock: systemClock, log, masterKey: await piiKey(config, log, deps.db) },
          v.tenant!,
          importId,
          createReadStream(v.file!),
          {
            fileName: basename(v.file!),
          },
        );
        print(summary);
        if (summary.rejected) process.stdout.write(`Rejected rows: GET /v1/members/imports/${importId}/rejects\n`);
      });
    }

    case 'verification': {
      if (sub !== 'grant') throw new UsageError(`unknown verification command: ${sub ?? '(none)'}`);
      const v = options(rest, { tenant: { type: 'string' }, units: { type: 'string' }, memo: { type: 'string' } });
      required(v, 'tenant', 'units');
      const units = Number(v.units);
      if (!Number.isSafeInteger(units) || units < 1 || units > 10_000_000)
        throw new UsageError('--units must be a whole number from 1 to 10000000', false);
      return runCommand(config, 'verification.grant', { tenantId: v.tenant, units, memo: v.memo });
    }

    case 'audit': {
      if (sub === 'verify') {
        const v = options(rest, { tenant: { type: 'string' } });
        return runCommand(config, 'audit.verify', { tenantId: v.tenant });
      }
      if (sub === 'export') {
        const v = options(rest, { tenant: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } });
        required(v, 'tenant');
        return runCommand(config, 'audit.export', { tenantId: v.tenant, from: v.from, to: v.to });
      }
      throw new UsageError(`unknown audit command: ${sub ?? '(none)'}`);
    }

    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;

    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`moa: ${err.message}\n${err.showUsage ? `\n${USAGE}\n` : ''}`);
    process.exit(2);
  }
  if (err instanceof ConfigError || err instanceof DataDirInUseError) {
    process.stderr.write(`moa: ${err.message}\n`);
    process.exit(1);
  }
  if ((err as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    process.stderr.write(`moa: ${(err as Error).message}: another process uses this port; set PORT to another one\n`);
    process.exit(1);
  }
  if (isAppError(err)) {
    const fields = err.errors?.map((e) => `\n  ${e.field}: ${e.message}`).join('') ?? '';
    process.stderr.write(`moa: ${err.code}: ${err.message}${fields}\n`);
    process.exit(1);
  }
  process.stderr.write(`moa: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
