import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, platform, randomBrn, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

let app: FastifyInstance;
let deps: Deps;
before(async () => ({ app, deps } = await testApp()));
after(() => app.close());

const PROBLEM = 'application/problem+json; charset=utf-8';

test('GET /v1/tenant returns the tenant of the key', async () => {
  const { tenant, keys } = await newTenant(deps, 'Moa Cafe');
  for (const key of Object.values(keys)) {
    const res = await app.inject({ url: '/v1/tenant', headers: bearer(key) });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), tenant);
    assert.equal(res.json().currency, 'KRW');
    assert.match(res.json().businessRegistrationNumber, /^\d{3}-\d{2}-\d{5}$/);
  }
});

test('no key, a malformed key, a wrong secret and a revoked key are 401 problem+json', async () => {
  const { tenant, keys } = await newTenant(deps);
  const cases = [
    {},
    { authorization: 'Basic abc' },
    { authorization: 'Bearer not-a-key' },
    bearer(`${keys.pos.slice(0, -4)}zzzz`),
    bearer(keys.pos.replace('moa_pos_', 'moa_app_')),
  ];
  for (const headers of cases) {
    const res = await app.inject({ url: '/v1/tenant', headers });
    assert.equal(res.statusCode, 401, JSON.stringify(headers));
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="moa"');
    const body = res.json();
    assert.equal(body.code, 'UNAUTHENTICATED');
    assert.equal(body.status, 401);
    assert.equal(body.type, '/problems/UNAUTHENTICATED');
    assert.ok(body.title && body.detail);
  }

  const list = await app.inject({ url: `/platform/v1/tenants/${tenant.id}/api-keys`, headers: platform });
  const posKey = list.json().items.find((k: { scope: string }) => k.scope === 'pos');
  assert.ok(posKey.lastUsedAt === null || typeof posKey.lastUsedAt === 'string');
  assert.ok(keys.pos.startsWith(`${posKey.prefix}_`), 'the prefix is the key without its secret');
  assert.equal(JSON.stringify(list.json()).includes(keys.pos), false, 'secrets are never listed');

  assert.equal((await app.inject({ url: '/v1/tenant', headers: bearer(keys.pos) })).statusCode, 200);
  const revoke = await app.inject({
    method: 'DELETE',
    url: `/platform/v1/tenants/${tenant.id}/api-keys/${posKey.id}`,
    headers: platform,
  });
  assert.equal(revoke.statusCode, 200);
  assert.ok(revoke.json().revokedAt);
  const res = await app.inject({ url: '/v1/tenant', headers: bearer(keys.pos) });
  assert.equal(res.statusCode, 401);
  assert.match(res.json().detail, /revoked/);
  assert.equal((await app.inject({ url: '/v1/tenant', headers: bearer(keys.app) })).statusCode, 200, 'other keys still work');
});

test("tenant B's key never returns or changes tenant A's data", async () => {
  const a = await newTenant(deps, 'Brand A');
  const b = await newTenant(deps, 'Brand B');
  const res = await app.inject({ url: '/v1/tenant', headers: bearer(b.key) });
  assert.equal(res.json().id, b.tenant.id);
  assert.notEqual(res.json().id, a.tenant.id);

  // A key whose tenant part names A but whose secret belongs to B is rejected.
  const forged = b.key.replace(b.tenant.id.slice(4), a.tenant.id.slice(4));
  assert.equal((await app.inject({ url: '/v1/tenant', headers: bearer(forged) })).statusCode, 401);

  const patch = await app.inject({ method: 'PATCH', url: '/v1/tenant', headers: bearer(b.key), payload: { name: 'Renamed B' } });
  assert.equal(patch.json().id, b.tenant.id);
  const aNow = await app.inject({ url: '/v1/tenant', headers: bearer(a.key) });
  assert.equal(aNow.json().name, 'Brand A');
});

test('scopes: only a server key may change the tenant', async () => {
  const { keys } = await newTenant(deps);
  for (const scope of ['pos', 'app'] as const) {
    const res = await app.inject({
      method: 'PATCH',
      url: '/v1/tenant',
      headers: bearer(keys[scope]),
      payload: { locale: 'en-US' },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'FORBIDDEN');
    assert.deepEqual(res.json().details, { scope, allowedScopes: ['server'] });
  }
  const ok = await app.inject({
    method: 'PATCH',
    url: '/v1/tenant',
    headers: bearer(keys.server),
    payload: { locale: 'en-US', timeZone: 'Asia/Tokyo' },
  });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().locale, 'en-US');
  assert.equal(ok.json().timeZone, 'Asia/Tokyo');
});

test('a suspended tenant’s keys are refused with TENANT_SUSPENDED until it is reactivated', async () => {
  const { tenant, key } = await newTenant(deps);
  const suspend = await app.inject({
    method: 'PUT',
    url: `/platform/v1/tenants/${tenant.id}/status`,
    headers: platform,
    payload: { status: 'suspended' },
  });
  assert.equal(suspend.json().status, 'suspended');
  const res = await app.inject({ url: '/v1/tenant', headers: bearer(key) });
  assert.equal(res.statusCode, 403);
  assert.equal(res.json().code, 'TENANT_SUSPENDED');
  await app.inject({
    method: 'PUT',
    url: `/platform/v1/tenants/${tenant.id}/status`,
    headers: platform,
    payload: { status: 'active' },
  });
  assert.equal((await app.inject({ url: '/v1/tenant', headers: bearer(key) })).statusCode, 200);
});

test('platform: creating tenants validates the business registration number and keeps it unique', async () => {
  const brn = randomBrn();
  const created = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: '  Seoul Bakery ', businessRegistrationNumber: `${brn.slice(0, 3)}-${brn.slice(3, 5)}-${brn.slice(5)}` },
  });
  assert.equal(created.statusCode, 201);
  const tenant = created.json();
  assert.match(tenant.id, /^tnt_[0-9a-z]{26}$/);
  assert.equal(tenant.name, 'Seoul Bakery');
  assert.equal(tenant.timeZone, 'Asia/Seoul');
  assert.equal(tenant.locale, 'ko-KR');
  assert.equal(tenant.status, 'active');

  const again = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: 'Other', businessRegistrationNumber: brn },
  });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().code, 'CONFLICT');
  assert.equal(again.json().details.field, 'businessRegistrationNumber');

  const wrongDigit = brn.slice(0, 9) + ((Number(brn[9]) + 1) % 10);
  const invalid = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: 'X', businessRegistrationNumber: wrongDigit, locale: 'fr-FR' },
  });
  assert.equal(invalid.statusCode, 400);
  const body = invalid.json();
  assert.equal(body.code, 'VALIDATION_FAILED');
  const fields = body.errors.map((e: { field: string }) => e.field).sort();
  assert.deepEqual(fields, ['body.businessRegistrationNumber', 'body.locale']);
  assert.match(body.errors.find((e: { field: string }) => e.field === 'body.businessRegistrationNumber').message, /check digit/);

  const fetched = await app.inject({ url: `/platform/v1/tenants/${tenant.id}`, headers: platform });
  assert.deepEqual(fetched.json(), tenant);
  const missing = await app.inject({ url: '/platform/v1/tenants/tnt_00000000000000000000000000', headers: platform });
  assert.equal(missing.statusCode, 404);
});

test('platform: listing pages through tenants newest first with a cursor', async () => {
  const mine = new Set<string>();
  for (let i = 0; i < 3; i++) mine.add((await newTenant(deps, `Paged ${i}`)).tenant.id);
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await app.inject({
      url: '/platform/v1/tenants',
      query: { limit: '2', ...(cursor ? { cursor } : {}) },
      headers: platform,
    });
    assert.equal(res.statusCode, 200);
    const page = res.json();
    assert.ok(page.items.length <= 2);
    seen.push(...page.items.map((t: { id: string }) => t.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  assert.deepEqual([...seen].sort().reverse(), seen, 'newest first');
  assert.equal(new Set(seen).size, seen.length, 'no tenant twice');
  for (const id of mine) assert.ok(seen.includes(id));
});

test('platform: the operator token is required, and the API is off without one', async () => {
  assert.equal((await app.inject({ url: '/platform/v1/tenants' })).statusCode, 401);
  assert.equal(
    (await app.inject({ url: '/platform/v1/tenants', headers: bearer('wrong-token-wrong-token-wrong-token') })).statusCode,
    401,
  );
  const { key } = await newTenant(deps);
  assert.equal(
    (await app.inject({ url: '/platform/v1/tenants', headers: bearer(key) })).statusCode,
    401,
    'a tenant key is not a platform token',
  );

  const { app: closed } = await testApp({ config: { ...deps.config, platformToken: undefined } });
  const res = await closed.inject({ url: '/platform/v1/tenants', headers: platform });
  assert.equal(res.statusCode, 401);
  assert.match(res.json().detail, /MOA_PLATFORM_TOKEN/);
  await closed.close();
});
