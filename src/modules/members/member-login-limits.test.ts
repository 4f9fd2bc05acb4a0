import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import {
  bearer,
  newMembers,
  newTenant,
  type TestTenant,
  testApp,
  testConfig,
  testDatabase,
  testDeps,
} from '../../../test/helpers.ts';
import { buildApp } from '../../app.ts';
import { fixedClock } from '../../platform/clock.ts';
import { createDatabase, type Database } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { hashPassword, passwordChecks } from '../../platform/passwords.ts';

// Counted limits on member login (issue 15 §3): an attempt is claimed in one conditional statement
// before the password is checked, so parallel guesses never get more checks than the policy allows,
// even across two app instances on two connection pools; unknown IDs count and lock the same way.

let app: FastifyInstance;
let deps: Deps;

// The lockout is under test here, not the rate limits: those get their own test below.
const lockoutOnly = testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000', SECRET_RATE_LIMIT_PER_IP: '1000' });

before(async () => {
  ({ app, deps } = await testApp({ config: lockoutOnly }));
});
after(() => app.close());

const PASSWORD = 'coffee&cake24';

/** A tenant with a member 'known1' whose password is PASSWORD. */
async function brand(d: Deps = deps): Promise<TestTenant> {
  const t = await newTenant(d, 'Login Limits');
  const [id] = await newMembers(d, t.tenant.id, 1);
  await d.db
    .updateTable('member')
    .set({ login_id: 'known1', password_hash: await hashPassword(PASSWORD) })
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', id!)
    .execute();
  return t;
}

const loginOn = (a: FastifyInstance, t: TestTenant, loginId: string, password: string, remoteAddress = '203.0.113.7') =>
  a.inject({
    method: 'POST',
    url: '/v1/members/login',
    headers: bearer(t.keys.app),
    payload: { loginId, password },
    remoteAddress,
  });

const codes = (rs: LightMyRequestResponse[]) => rs.map((r) => `${r.statusCode} ${r.json().code ?? 'ok'}`);
const count = (rs: LightMyRequestResponse[], status: number) => rs.filter((r) => r.statusCode === status).length;

test('50 parallel wrong passwords: exactly 5 are checked (401), 45 are refused as locked without a check', async () => {
  const t = await brand();
  const checks = passwordChecks();
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => loginOn(app, t, 'known1', `wrong-pass-${i}`)));
  assert.equal(count(rs, 401), 5, codes(rs).join());
  assert.equal(count(rs, 423), 45);
  assert.equal(passwordChecks() - checks, 5, 'no password is hashed for a locked attempt');
  assert.equal(
    (await loginOn(app, t, 'known1', PASSWORD)).json().code,
    'LOGIN_LOCKED',
    'the right password waits for the lock too',
  );
});

test('39 wrong and 1 right in parallel: the wrong ones never get more than the limit of checks', async () => {
  const t = await brand();
  const passwords = Array.from({ length: 40 }, (_, i) => (i === 20 ? PASSWORD : `wrong-pass-${i}`));
  const rs = await Promise.all(passwords.map((p) => loginOn(app, t, 'known1', p)));
  const ok = count(rs, 200);
  // The right one, when its claim came before the lock, resets the count: at most 5 more then.
  assert.ok(count(rs, 401) <= 5 * (1 + ok), codes(rs).join());
  assert.ok(ok <= 1);
  assert.equal(count(rs, 401) + count(rs, 423) + ok, 40);
});

test('an unknown login ID gets the same answers, the same lock and the same password work as a known one', async () => {
  const clock = fixedClock(new Date());
  const d = { ...deps, clock };
  const a = await buildApp(d, { engine: 'test' });
  try {
    const t = await brand(d);
    const run = async (loginId: string) => {
      const before = passwordChecks();
      const answers = [];
      for (let i = 0; i < 7; i++) {
        const r = await loginOn(a, t, loginId, `wrong-pass-${i}`);
        answers.push({
          status: r.statusCode,
          code: r.json().code,
          detail: r.json().detail,
          details: r.json().details,
          retryAfter: r.headers['retry-after'],
        });
      }
      return { answers, checks: passwordChecks() - before };
    };
    const known = await run('known1');
    const unknown = await run('nobody77');
    assert.deepEqual(unknown, known);
    assert.deepEqual(
      known.answers.map((x) => x.status),
      [401, 401, 401, 401, 401, 423, 423],
    );
    assert.equal(known.checks, 5, 'five scrypt checks each, against the member’s hash or the dummy hash');
    // Both locks lift by themselves after the lockout.
    clock.advance(16 * 60_000);
    assert.equal((await loginOn(a, t, 'known1', PASSWORD)).statusCode, 200);
    assert.equal((await loginOn(a, t, 'nobody77', PASSWORD)).json().code, 'INVALID_CREDENTIALS');
  } finally {
    await a.close();
  }
});

test('the count lives in the database: two app instances on two connection pools share it', async () => {
  const url = process.env.MOA_TEST_DB_URL;
  // PostgreSQL: a second pool. PGlite (one connection per process): a second app on the same database.
  const second: Database | undefined = url
    ? await createDatabase({ databaseUrl: url, poolSize: 10, unscoped: 'system' })
    : undefined;
  const d2 = {
    ...(await testDeps()),
    config: lockoutOnly,
    masterKey: deps.masterKey,
    ...(second ? { db: second.db } : { db: (await testDatabase()).db }),
  };
  const app2 = await buildApp(d2, { engine: 'second' });
  try {
    const t = await brand();
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => loginOn(i % 2 ? app2 : app, t, 'known1', `wrong-pass-${i}`)),
    );
    assert.equal(count(rs, 401), 5, codes(rs).join());
    assert.equal(count(rs, 423), 45);
  } finally {
    await app2.close();
    await second?.close();
  }
});

test('rate limits: per login ID and per client IP, 429 problem+json with Retry-After', async () => {
  const d = {
    ...deps,
    config: testConfig({
      SECRET_RATE_LIMIT_PER_CREDENTIAL: '3',
      SECRET_RATE_LIMIT_PER_IP: '6',
      SECRET_RATE_LIMIT_WINDOW_SECONDS: '60',
    }),
  };
  const a = await buildApp(d, { engine: 'test' });
  try {
    const t = await brand(d);
    // Per credential: the fourth attempt on one ID within the window, from any address.
    for (let i = 0; i < 3; i++) assert.equal((await loginOn(a, t, 'known1', PASSWORD, `198.51.100.${i}`)).statusCode, 200);
    const limited = await loginOn(a, t, 'known1', PASSWORD, '198.51.100.9');
    assert.equal(limited.statusCode, 429, limited.body);
    assert.match(String(limited.headers['content-type']), /^application\/problem\+json/);
    assert.equal(limited.json().code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);
    // Per IP: six checks from one address over different IDs, then 429.
    const ids = ['ip-a1', 'ip-a2', 'ip-a3', 'ip-a4', 'ip-a5', 'ip-a6', 'ip-a7'];
    const rs = [];
    for (const id of ids) rs.push(await loginOn(a, t, id, 'wrong-pass-1', '192.0.2.44'));
    assert.deepEqual(
      rs.map((r) => r.statusCode),
      [401, 401, 401, 401, 401, 401, 429],
    );
    assert.equal((await loginOn(a, t, 'ip-a8', 'wrong-pass-1', '192.0.2.45')).statusCode, 401, 'another address is not limited');
  } finally {
    await a.close();
  }
});
