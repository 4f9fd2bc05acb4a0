import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { bearer, newTenant, type TestTenant, testApp, testConfig, testDatabase, testDeps } from '../../../test/helpers.ts';
import { buildApp } from '../../app.ts';
import { createDatabase, type Database } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { passwordChecks } from '../../platform/passwords.ts';

// The store-manager login lockout (issue 15 §3): claimed before the password is checked, in the database.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp({
    config: testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000', SECRET_RATE_LIMIT_PER_IP: '1000' }),
  }));
});
after(() => app.close());

async function brand(): Promise<TestTenant> {
  const t = await newTenant(deps, 'Store Brand');
  const store = await app.inject({
    method: 'POST',
    url: '/v1/stores',
    headers: { ...bearer(t.keys.server), 'idempotency-key': `s-${++seq}` },
    payload: { code: 'S1', name: '매장' },
  });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/store-managers',
    headers: { ...bearer(t.keys.server), 'idempotency-key': `m-${++seq}` },
    payload: { loginId: 'kim.s1', name: '김점장', password: 'manager-pass-1', storeIds: [store.json().id] },
  });
  assert.equal(res.statusCode, 201, res.body);
  return t;
}

const loginOn = (a: FastifyInstance, t: TestTenant, loginId: string, password: string) =>
  a.inject({ method: 'POST', url: '/v1/store-managers/login', headers: bearer(t.keys.app), payload: { loginId, password } });
const count = (rs: LightMyRequestResponse[], status: number) => rs.filter((r) => r.statusCode === status).length;

test('50 parallel wrong manager passwords over two app instances: 5 checks, 45 locked', async () => {
  const url = process.env.MOA_TEST_DB_URL;
  const second: Database | undefined = url
    ? await createDatabase({ databaseUrl: url, poolSize: 10, unscoped: 'system' })
    : undefined;
  const app2 = await buildApp(
    { ...(await testDeps()), config: deps.config, masterKey: deps.masterKey, db: second?.db ?? (await testDatabase()).db },
    { engine: 'second' },
  );
  try {
    const t = await brand();
    const checks = passwordChecks();
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => loginOn(i % 2 ? app2 : app, t, 'kim.s1', `wrong-${i}`)));
    assert.equal(count(rs, 401), 5, rs.map((r) => r.statusCode).join());
    assert.equal(count(rs, 423), 45);
    assert.equal(passwordChecks() - checks, 5);
    assert.equal((await loginOn(app, t, 'kim.s1', 'manager-pass-1')).json().code, 'LOGIN_LOCKED');
  } finally {
    await app2.close();
    await second?.close();
  }
});

test('an unknown manager login ID answers and locks like a known one', async () => {
  const t = await brand();
  const run = async (loginId: string) => {
    const out = [];
    for (let i = 0; i < 6; i++) {
      const r = await loginOn(app, t, loginId, `wrong-${i}`);
      out.push([r.statusCode, r.json().code, r.json().detail]);
    }
    return out;
  };
  const known = await run('kim.s1');
  assert.deepEqual(await run('nobody.s9'), known);
  assert.deepEqual(
    known.map((x) => x[0]),
    [401, 401, 401, 401, 401, 423],
  );
});
