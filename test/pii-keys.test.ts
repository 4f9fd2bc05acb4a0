import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { IDENTITY_SEALED_COLUMNS } from '../src/modules/identity/index.ts';
import { getMember, importMembers, MEMBERS_SEALED_COLUMNS } from '../src/modules/members/index.ts';
import { PREPAID_SEALED_COLUMNS } from '../src/modules/prepaid/index.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createDatabase, type Database } from '../src/platform/db.ts';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrate.ts';
import { piiFor } from '../src/platform/pii.ts';
import { loadPiiKeys, resealColumns, rotatePiiKey } from '../src/platform/pii-keys.ts';
import { randomBrn } from './helpers.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';

// Rotation re-seals every value of a database, so it runs on a database of its own: the shared
// test database holds values sealed under other test processes' master keys.
let database: Database;
let scratch: ScratchDatabase | undefined;

before(async () => {
  const server = process.env.MOA_TEST_DB_URL;
  if (server) scratch = await createScratchDatabase(server, 'moa_test_keys');
  // Rotation is the operator's `moa keys rotate`, which runs as moa_system across tenants.
  database = await createDatabase({ ...(scratch ? { databaseUrl: scratch.url } : {}), unscoped: 'system' });
  await migrate(database);
});
after(async () => {
  await database.close();
  await scratch?.drop();
});

const COLUMNS = [...IDENTITY_SEALED_COLUMNS, ...MEMBERS_SEALED_COLUMNS, ...PREPAID_SEALED_COLUMNS];

test('keys rotate: a new key becomes current, every value is re-sealed under it, old keys still open', async () => {
  const masterKey = randomBytes(32);
  const deps = { db: database.db, config: loadConfig({}), clock: systemClock, masterKey, log: createLogger('silent') };
  const tenant = await createTenant(deps, { name: 'Keys Brand', businessRegistrationNumber: randomBrn(), locale: 'ko-KR' });
  const csv =
    'login_id,name,phone,consent_terms,consent_privacy\nkeys01,홍길동,010-3333-0001,Y,Y\nkeys02,김민지,010-3333-0002,Y,Y\n';
  await importMembers(deps, tenant.id, 'keys', [csv]);
  const sealed = async () =>
    await database.db
      .selectFrom('member')
      .select(['id', 'profile_sealed'])
      .where('tenant_id', '=', tenant.id)
      .orderBy('login_id')
      .execute();
  assert.ok((await sealed()).every((m) => m.profile_sealed!.startsWith('v1.k1.')));
  const before = (await sealed()).map((m) => m.profile_sealed);
  // An auto-charge's payment token is sealed the same way.
  await database.db
    .insertInto('prepaid_auto_charge')
    .values({
      tenant_id: tenant.id,
      card_id: 'ppc_keys',
      member_id: 'mbr_keys',
      kind: 'monthly',
      threshold: null,
      day_of_month: 1,
      amount: 10_000,
      payment_method: 'card',
      token_sealed: piiFor(masterKey).seal('billing-key-1234'),
      token_last4: '1234',
      due_at: null,
      last_error: null,
      disabled_reason: null,
    })
    .execute();
  const token = async () =>
    (
      await database.db
        .selectFrom('prepaid_auto_charge')
        .select('token_sealed')
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow()
    ).token_sealed;

  assert.equal(await rotatePiiKey(database.db, masterKey, 'pii'), 'k2');
  const counts = await resealColumns(database.db, masterKey, COLUMNS);
  assert.equal(counts['member.profile_sealed'], 2);
  assert.equal(counts['prepaid_auto_charge.token_sealed'], 1);
  assert.ok((await token()).startsWith('v1.k2.'));
  assert.equal(piiFor(masterKey).open<string>(await token()), 'billing-key-1234');
  const after1 = await sealed();
  assert.ok(after1.every((m) => m.profile_sealed!.startsWith('v1.k2.')));
  assert.equal((await getMember(deps, tenant.id, after1[0]!.id)).name, '홍*동', 'the data is the same');
  assert.deepEqual(
    await resealColumns(database.db, masterKey, COLUMNS),
    Object.fromEntries(COLUMNS.map((c) => [`${c.table}.${c.column}`, 0])),
    'a second run has nothing to do',
  );

  // Another process with the same master key opens k2 values once it has loaded the keys.
  const elsewhere = Buffer.from(masterKey);
  assert.throws(() => piiFor(elsewhere).open(after1[0]!.profile_sealed!), /unknown format or key/);
  await loadPiiKeys(database.db, elsewhere);
  assert.deepEqual(piiFor(elsewhere).open<{ name: string }>(after1[0]!.profile_sealed!).name, '홍길동');
  assert.equal(piiFor(elsewhere).open<{ name: string }>(before[1]!).name, '김민지', 'values under the old key still open');

  assert.equal(await rotatePiiKey(database.db, masterKey, 'pii'), 'k3');
  await resealColumns(database.db, masterKey, COLUMNS);
  assert.ok((await sealed()).every((m) => m.profile_sealed!.startsWith('v1.k3.')));
  assert.equal(await rotatePiiKey(database.db, masterKey, 'dormant'), 'k2', 'each domain has its own keys');
  assert.equal(piiFor(masterKey).currentKeyId, 'k3');
});
