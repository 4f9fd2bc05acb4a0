// Shared by the HTTP benchmarks that need a prepared brand: where the product's database lives, a
// brand with members set up in-process before the server starts, and the server as a child process.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { importMembers } from '../src/modules/members/index.ts';
import { setPointPolicy, ZPointPolicySettings } from '../src/modules/points/index.ts';
import { createStampCard, ZStampCardRequest } from '../src/modules/stamps/index.ts';
import { createApiKey, createTenant } from '../src/modules/tenants/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createDatabase, type Database } from '../src/platform/db.ts';
import { asSystem } from '../src/platform/db-context.ts';
import type { Deps } from '../src/platform/deps.ts';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrate.ts';
import { createOutboxWorker } from '../src/platform/outbox.ts';
import { createProviders } from '../src/providers.ts';
import { createScratchDatabase } from '../test/scratch-database.ts';
import { serverUrl } from './engines.ts';
import { type Child, startChild } from './processes.ts';

export const masterKey = randomBytes(32);

/** A migrated database for the engine, the server's environment for it, and how to throw it away. */
export async function placeDatabase(
  engine: string,
  name: string,
): Promise<{ env: Record<string, string>; open: () => Promise<Database>; cleanup: () => Promise<void> }> {
  let place: { env: Record<string, string>; open: () => Promise<Database>; cleanup: () => Promise<void> };
  if (engine === 'postgres') {
    if (!serverUrl) throw new Error('postgres needs DATABASE_URL or TEST_DATABASE_URL');
    const scratch = await createScratchDatabase(serverUrl, `moa_bench_${name}`);
    place = {
      env: { DATABASE_URL: scratch.url, MOA_ALLOW_SANDBOX: 'true' },
      open: () => createDatabase({ databaseUrl: scratch.url, poolSize: 10 }),
      cleanup: scratch.drop,
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), `moa-bench-${name}-`));
    place = {
      env: { DATA_DIR: dir },
      open: () => createDatabase({ dataDir: dir }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const database = await place.open();
  await migrate(database);
  await database.close();
  return place;
}

/** Runs `fn` with the product's services on the database (the server must not be running). */
export async function withDeps<T>(open: () => Promise<Database>, fn: (deps: Deps) => Promise<T>): Promise<T> {
  const database = await open();
  const log = createLogger('silent');
  try {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const providers = createProviders(config, { db: database.db, masterKey, clock: systemClock });
    // Setting up a brand is the operator's work: moa_system, as the CLI.
    return await asSystem(() =>
      fn({
        config,
        db: database.db,
        log,
        clock: systemClock,
        outbox: createOutboxWorker({ db: database.db, log }),
        masterKey,
        providers,
      }),
    );
  } finally {
    await database.close();
  }
}

/** A brand with API keys of each scope and `members` imported members (their ids, in order). */
export async function benchBrand(deps: Deps, members: number) {
  const tenant = await createTenant(deps, { name: 'Bench Brand', businessRegistrationNumber: '2208162517', locale: 'ko-KR' });
  const key = async (scope: 'pos' | 'app' | 'server') => (await createApiKey(deps, tenant.id, { name: scope, scope })).key;
  const keys = { pos: await key('pos'), app: await key('app'), server: await key('server') };
  function* csv() {
    yield 'login_id,name,phone,consent_terms,consent_privacy\n';
    for (let i = 0; i < members; i++)
      yield `bench${String(i).padStart(6, '0')},회원${i},010${String(20_000_000 + i).padStart(8, '0')},Y,Y\n`;
  }
  await importMembers(deps, tenant.id, 'bench', csv());
  const memberIds = (
    await deps.db.selectFrom('member').select('id').where('tenant_id', '=', tenant.id).orderBy('id').execute()
  ).map((r) => r.id);
  // The store the benchmarks' baskets name (a write's store must be the brand's).
  await deps.db
    .insertInto('store')
    .values({ tenant_id: tenant.id, id: 'bench-store', code: 'bench-store', name: 'Bench Store' })
    .execute();
  return { tenantId: tenant.id, keys, memberIds };
}

/** A brand for checkouts: `members` members, points earned at 1 %, and an americano stamp card (100 per board). */
export async function checkoutBrand(deps: Deps, members: number) {
  const brand = await benchBrand(deps, members);
  await setPointPolicy(deps, brand.tenantId, { settings: ZPointPolicySettings.parse({ baseRateBp: 100 }) });
  const day = 86_400_000;
  await createStampCard(
    deps,
    brand.tenantId,
    ZStampCardRequest.parse({
      name: '아메리카노 스탬프',
      issueFrom: new Date(Date.now() - day).toISOString(),
      issueUntil: new Date(Date.now() + 365 * day).toISOString(),
      stampsPerBoard: 100,
      reward: { type: 'points', points: 1_000 },
      policy: { basis: 'per_condition_item', conditionProducts: ['americano'] },
    }),
  );
  return brand;
}

/** A member's basket at the bench store: americanos (they earn stamps) and a cake, paid by card. */
export const checkoutBasket = (memberId: string, americanos = 2) => ({
  memberId,
  storeId: 'bench-store',
  channel: 'offline' as const,
  items: [
    { productId: 'americano', quantity: americanos, unitPrice: 4_500 },
    { productId: 'cake', quantity: 1, unitPrice: 6_500 },
  ],
  deliveryFee: 0,
  paymentMethods: ['card'],
});

/** The product serving on the prepared database, jobs off (unless env says JOBS_ENABLED=true). */
export function startProduct(env: Record<string, string>): Promise<Child> {
  return startChild(
    'src/main.ts',
    ['serve'],
    {
      PORT: '0',
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'false',
      MOA_MASTER_KEY: masterKey.toString('base64'),
      MOA_PLATFORM_TOKEN: randomBytes(24).toString('hex'),
      JOBS_ENABLED: 'false',
      // Last: a benchmark may turn the jobs on (bench:checkout with BENCH_WEBHOOKS delivers webhooks).
      ...env,
    },
    /Health\s+(http:\/\/\S+)\/health/,
  );
}
