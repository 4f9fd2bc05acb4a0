// npm run bench:rush — a first-come coupon rush over HTTP: a downloadable coupon limited to 2,000,
// one per member, claimed by 10,000 members in 50,000 attempts from many concurrent clients
// (POST /v1/me/coupons/downloads, each with its member's session and its own Idempotency-Key).
// Afterwards the database is checked: exactly 2,000 coupons, no member above its limit, and the
// definition's counter equal to the coupons that exist. Prints one JSON line per engine.
//
//   BENCH_ENGINES   pglite and/or postgres (default: pglite, plus postgres when DATABASE_URL or
//                   TEST_DATABASE_URL names a server; a scratch database is created and dropped)
//   BENCH_CLIENTS   concurrent clients (default 256)
//   BENCH_MEMBERS, BENCH_ATTEMPTS, BENCH_QUANTITY   (default 10,000, 50,000, 2,000)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createDefinition, ZCouponRules } from '../src/modules/coupons/index.ts';
import { importMembers } from '../src/modules/members/index.ts';
import { openSession } from '../src/modules/members/member-sessions.service.ts';
import { createApiKey, createTenant } from '../src/modules/tenants/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createDatabase, type Database } from '../src/platform/db.ts';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrate.ts';
import { createOutboxWorker } from '../src/platform/outbox.ts';
import { createScratchDatabase } from '../test/scratch-database.ts';
import { benchEngines, serverUrl } from './engines.ts';
import { runLoad } from './load.ts';
import { startChild } from './processes.ts';

const clients = Number(process.env.BENCH_CLIENTS ?? 256);
const memberCount = Number(process.env.BENCH_MEMBERS ?? 10_000);
const attempts = Number(process.env.BENCH_ATTEMPTS ?? 50_000);
const quantity = Number(process.env.BENCH_QUANTITY ?? 2_000);
const masterKey = randomBytes(32);
const print = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

/** The database a server will run on: where it lives, and how to open it here before and after. */
async function place(engine: string): Promise<{ env: Record<string, string>; open: () => Promise<Database>; cleanup: () => Promise<void> }> {
  if (engine === 'postgres') {
    if (!serverUrl) throw new Error('postgres needs DATABASE_URL or TEST_DATABASE_URL');
    const scratch = await createScratchDatabase(serverUrl, 'moa_bench_rush');
    return { env: { DATABASE_URL: scratch.url }, open: () => createDatabase({ databaseUrl: scratch.url, poolSize: 10 }), cleanup: scratch.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), 'moa-bench-rush-'));
  return { env: { DATA_DIR: dir }, open: () => createDatabase({ dataDir: dir }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A tenant with an app key, the members with a session each, and the coupon. */
async function prepare(database: Database) {
  const log = createLogger('silent');
  const deps = { config: loadConfig({ LOG_LEVEL: 'silent' }), db: database.db, log, clock: systemClock, outbox: createOutboxWorker({ db: database.db, log }), masterKey };
  const tenant = await createTenant(deps, { name: 'Rush Brand', businessRegistrationNumber: '2208162517', locale: 'ko-KR' });
  const appKey = (await createApiKey(deps, tenant.id, { name: 'app', scope: 'app' })).key;
  const serverKey = (await createApiKey(deps, tenant.id, { name: 'server', scope: 'server' })).key;
  function* csv() {
    yield 'login_id,name,phone,consent_terms,consent_privacy\n';
    for (let i = 0; i < memberCount; i++) yield `rush${String(i).padStart(6, '0')},회원${i},010${String(20_000_000 + i).padStart(8, '0')},Y,Y\n`;
  }
  await importMembers(deps, tenant.id, 'rush', csv());
  const ids = (await deps.db.selectFrom('member').select('id').where('tenant_id', '=', tenant.id).orderBy('id').execute()).map((r) => r.id);
  const tokens: string[] = [];
  for (let i = 0; i < ids.length; i += 200) tokens.push(...(await Promise.all(ids.slice(i, i + 200).map(async (id) => (await openSession(deps, tenant.id, id, 'bench')).token))));
  const definition = await createDefinition(deps, tenant.id, {
    name: '선착순 2,000명 아메리카노',
    rules: ZCouponRules.parse({ benefit: { kind: 'free_item', productId: 'americano' }, validity: { kind: 'days', days: 14 } }),
    downloadable: true,
    autoIssue: null,
    autoIssueGrade: null,
    totalQuantity: quantity,
    perMemberLimit: 1,
    issueFrom: null,
    issueUntil: null,
  });
  return { tenantId: tenant.id, appKey, serverKey, tokens, definitionId: definition.id };
}

for (const engine of benchEngines()) {
  const where = await place(engine);
  try {
    let database = await where.open();
    await migrate(database);
    const setup = await prepare(database);
    await database.close();

    const moa = await startChild(
      'src/main.ts',
      ['serve'],
      { ...where.env, PORT: '0', LOG_LEVEL: 'warn', SEED_DEMO: 'false', MOA_MASTER_KEY: masterKey.toString('base64'), MOA_PLATFORM_TOKEN: randomBytes(24).toString('hex'), JOBS_ENABLED: 'false' },
      /Health\s+(http:\/\/\S+)\/health/,
    );
    const run = randomBytes(4).toString('hex');
    let result;
    try {
      // Each attempt is a random member's: several clients claim for the same member at once.
      const who = Array.from({ length: attempts }, () => Math.floor(Math.random() * setup.tokens.length));
      result = await runLoad({
        url: `${moa.base}/v1/me/coupons/downloads`,
        method: 'POST',
        headers: (i) => ({ authorization: `Bearer ${setup.appKey}`, 'x-member-token': setup.tokens[who[i]!]!, 'idempotency-key': `${run}-${i}` }),
        body: () => JSON.stringify({ definitionId: setup.definitionId }),
        clients,
        durationMs: 3_600_000,
        requests: attempts,
        ok: (s) => s === 201 || s === 422,
      });
    } finally {
      await moa.stop();
    }

    database = await where.open();
    const coupons = await database.db.selectFrom('coupon').select(({ fn }) => [fn.countAll<number>().as('n'), fn.count<number>('member_id').distinct().as('members')]).where('tenant_id', '=', setup.tenantId).executeTakeFirstOrThrow();
    const perMember = await database.db
      .selectFrom('coupon')
      .select(({ fn }) => fn.countAll<number>().as('n'))
      .where('tenant_id', '=', setup.tenantId)
      .groupBy('member_id')
      .orderBy('n', 'desc')
      .limit(1)
      .executeTakeFirst();
    const counter = await database.db.selectFrom('coupon_definition').select('issued').where('tenant_id', '=', setup.tenantId).where('id', '=', setup.definitionId).executeTakeFirstOrThrow();
    await database.close();
    const issued = Number(coupons.n);
    const exact = issued === Math.min(quantity, memberCount) && Number(counter.issued) === issued && Number(perMember?.n ?? 0) <= 1 && (result.statuses[201] ?? 0) === issued;
    print({
      engine,
      clients,
      members: memberCount,
      attempts,
      quantity,
      issued,
      members_with_coupon: Number(coupons.members),
      max_per_member: Number(perMember?.n ?? 0),
      definition_counter: Number(counter.issued),
      answered_201: result.statuses[201] ?? 0,
      answered_422: result.statuses[422] ?? 0,
      errors: result.errors,
      seconds: result.seconds,
      claims_per_s: result.req_per_s,
      p50_ms: result.p50_ms,
      p99_ms: result.p99_ms,
      exact,
    });
    if (!exact) process.exitCode = 1;
  } finally {
    await where.cleanup();
  }
}
