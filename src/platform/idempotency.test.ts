import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, newTenant, platform, randomBrn, testApp, testDatabase } from '../../test/helpers.ts';
import type { Deps } from './deps.ts';
import { purgeExpiredIdempotencyKeys, requestHash, stableStringify } from './idempotency.ts';

let app: FastifyInstance;
let deps: Deps;
let engine: string;
before(async () => ({ app, deps, engine } = await testApp()));
after(() => app.close());

const createTenant = (key: string, body: object) =>
  app.inject({ method: 'POST', url: '/platform/v1/tenants', headers: { ...platform, 'idempotency-key': key }, payload: body });

async function outboxCount(tenantId: string, topic: string): Promise<number> {
  const row = await deps.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('topic', '=', topic)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

test('same key and body twice: one effect, identical responses, the second marked as replayed', async () => {
  const key = `create-${randomBrn()}`;
  const body = { name: 'Idempotent Brand', businessRegistrationNumber: randomBrn() };
  const first = await createTenant(key, body);
  const second = await createTenant(key, body);
  assert.equal(first.statusCode, 201);
  assert.equal(second.statusCode, 201);
  assert.equal(second.body, first.body, 'byte-identical body');
  assert.equal(first.headers['idempotent-replayed'], undefined);
  assert.equal(second.headers['idempotent-replayed'], 'true');
  assert.equal(second.headers['content-type'], first.headers['content-type']);
  const tenantId = first.json().id;
  assert.equal(await outboxCount(tenantId, 'tenant.created'), 1, 'the side effect was recorded once');

  // Key order in the body does not make it another request.
  const reordered = await createTenant(key, { businessRegistrationNumber: body.businessRegistrationNumber, name: body.name });
  assert.equal(reordered.body, first.body);
});

test('same key with a different body: 422 IDEMPOTENCY_KEY_REUSED and nothing written', async () => {
  const key = `reuse-${randomBrn()}`;
  const first = await createTenant(key, { name: 'First', businessRegistrationNumber: randomBrn() });
  assert.equal(first.statusCode, 201);
  const otherBrn = randomBrn();
  const second = await createTenant(key, { name: 'Second', businessRegistrationNumber: otherBrn });
  assert.equal(second.statusCode, 422);
  assert.equal(second.json().code, 'IDEMPOTENCY_KEY_REUSED');
  const found = await deps.db.selectFrom('tenant').select('id').where('business_registration_number', '=', otherBrn).execute();
  assert.equal(found.length, 0);
});

test('keys are scoped per tenant: two tenants may use the same key', async () => {
  const a = await newTenant(deps);
  const b = await newTenant(deps);
  const patch = (k: string, name: string) =>
    app.inject({
      method: 'PATCH',
      url: '/v1/tenant',
      headers: { ...bearer(k), 'idempotency-key': 'shared-key-1' },
      payload: { name },
    });
  const ra = await patch(a.key, 'Alpha');
  const rb = await patch(b.key, 'Beta');
  assert.equal(ra.json().name, 'Alpha');
  assert.equal(rb.json().name, 'Beta');
  assert.equal(rb.headers['idempotent-replayed'], undefined);
});

test('a business rejection is stored: the retry gets the same answer, even once the conflict is gone', async () => {
  const brn = randomBrn();
  const existing = await createTenant(`orig-${brn}`, { name: 'Original', businessRegistrationNumber: brn });
  assert.equal(existing.statusCode, 201);
  const key = `dup-${brn}`;
  const rejected = await createTenant(key, { name: 'Duplicate', businessRegistrationNumber: brn });
  assert.equal(rejected.statusCode, 409);
  assert.equal(rejected.headers['content-type'], 'application/problem+json; charset=utf-8');
  // Free the number; the retry must still be the recorded outcome, not a second attempt.
  await deps.db
    .updateTable('tenant')
    .set({ business_registration_number: randomBrn() })
    .where('id', '=', existing.json().id)
    .execute();
  const retry = await createTenant(key, { name: 'Duplicate', businessRegistrationNumber: brn });
  assert.equal(retry.statusCode, 409);
  assert.equal(retry.body, rejected.body);
  assert.equal(retry.headers['idempotent-replayed'], 'true');
});

test('an invalid key is 400; requests without a key work as before', async () => {
  const bad = await createTenant('has space', { name: 'X', businessRegistrationNumber: randomBrn() });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'IDEMPOTENCY_KEY_INVALID');
  const long = await createTenant('k'.repeat(256), { name: 'X', businessRegistrationNumber: randomBrn() });
  assert.equal(long.json().code, 'IDEMPOTENCY_KEY_INVALID');
  const plain = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: 'No key', businessRegistrationNumber: randomBrn() },
  });
  assert.equal(plain.statusCode, 201);
});

test('concurrent duplicates: exactly one effect; the others replay it or are told it is in flight', async () => {
  const key = `race-${randomBrn()}`;
  const body = { name: 'Race Brand', businessRegistrationNumber: randomBrn() };
  const responses = await Promise.all(Array.from({ length: 20 }, () => createTenant(key, body)));
  const created = responses.filter((r) => r.statusCode === 201);
  const inFlight = responses.filter((r) => r.statusCode === 409);
  assert.equal(created.length + inFlight.length, 20, responses.map((r) => r.statusCode).join(','));
  assert.ok(created.length >= 1);
  for (const r of created) assert.equal(r.body, created[0]!.body);
  for (const r of inFlight) {
    assert.equal(r.json().code, 'IDEMPOTENCY_IN_FLIGHT');
    assert.equal(r.headers['retry-after'], '1');
  }
  if (engine === 'pglite') assert.equal(inFlight.length, 0, 'the embedded database runs them one after another');
  const rows = await deps.db
    .selectFrom('tenant')
    .select('id')
    .where('business_registration_number', '=', body.businessRegistrationNumber)
    .execute();
  assert.equal(rows.length, 1);
  assert.equal(await outboxCount(rows[0]!.id, 'tenant.created'), 1);
});

test('expired keys are purged and may then be used again', async () => {
  const key = `expire-${randomBrn()}`;
  const first = await createTenant(key, { name: 'Old', businessRegistrationNumber: randomBrn() });
  assert.equal(first.statusCode, 201);
  const stored = await deps.db
    .selectFrom('idempotency_key')
    .select(['created_at', 'expires_at'])
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  assert.ok(stored.expires_at.getTime() - stored.created_at.getTime() >= 24 * 3600 * 1000, 'kept at least 24 hours');

  await deps.db
    .updateTable('idempotency_key')
    .set({ expires_at: sql<Date>`now() - interval '1 second'` })
    .where('key', '=', key)
    .execute();
  const reused = await createTenant(key, { name: 'New', businessRegistrationNumber: randomBrn() });
  assert.equal(reused.statusCode, 201, 'an expired key is a new request');
  assert.notEqual(reused.json().id, first.json().id);

  await deps.db
    .updateTable('idempotency_key')
    .set({ expires_at: sql<Date>`now() - interval '1 second'` })
    .where('key', '=', key)
    .execute();
  assert.ok((await purgeExpiredIdempotencyKeys(deps.db)) >= 1);
  assert.equal((await deps.db.selectFrom('idempotency_key').select('key').where('key', '=', key).execute()).length, 0);
});

test('a route that takes no body hashes none: a body sent anyway (JSON nested 10,000 deep) is not part of the request', async () => {
  const t = await newTenant(deps);
  const release = (payload: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/coupons/holds/no-such-hold/release',
      headers: { ...bearer(t.key), 'idempotency-key': 'release-deep', 'content-type': 'application/json' },
      payload,
    });
  const first = await release(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
  assert.equal(first.statusCode, 200, first.body);
  const retry = await release('{"other":"body"}');
  assert.equal(retry.statusCode, 200, retry.body);
  assert.equal(retry.headers['idempotent-replayed'], 'true');
  assert.equal(retry.body, first.body);
});

test('request hashing ignores key order but not values, method or path', () => {
  assert.equal(stableStringify({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  assert.equal(requestHash('POST', '/x', { a: 1, b: 2 }), requestHash('POST', '/x', { b: 2, a: 1 }));
  assert.notEqual(requestHash('POST', '/x', { a: 1 }), requestHash('POST', '/x', { a: 2 }));
  assert.notEqual(requestHash('POST', '/x', { a: 1 }), requestHash('PUT', '/x', { a: 1 }));
  assert.notEqual(requestHash('POST', '/x', { a: 1 }), requestHash('POST', '/y', { a: 1 }));
});

/**
 * Where any of the strings is in the database: the embedded database's full dump (every page, the
 * WAL included), or on PostgreSQL every text, JSON and bytea column of every table.
 */
async function databaseHolding(needles: string[]): Promise<string[]> {
  const database = await testDatabase();
  if (database.dump) {
    const bytes = Buffer.from(await (await database.dump()).arrayBuffer());
    return needles.filter((n) => bytes.includes(n)).map((n) => `dump: ${n}`);
  }
  const columns = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select c.table_name, c.column_name, c.data_type from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
    where c.table_schema = current_schema() and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY')`.execute(
    deps.db,
  );
  const found: string[] = [];
  for (const { table_name, column_name, data_type } of columns.rows) {
    const column = data_type === 'bytea' ? sql`encode(${sql.ref(column_name)}, 'escape')` : sql`${sql.ref(column_name)}::text`;
    const any = sql.join(
      needles.map((n) => sql`strpos(${column}, ${n}) > 0`),
      sql` or `,
    );
    const hit = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)} where ${any}`.execute(deps.db);
    if (hit.rows[0]!.n > 0) found.push(`${table_name}.${column_name}`);
  }
  return found;
}

test('a response carrying secrets keeps them only sealed in its record; a replay still answers them', async () => {
  const t = await newTenant(deps);
  const headers = { ...bearer(t.key), 'idempotency-key': `pins-${randomBrn()}` };
  const definition = await app.inject({
    method: 'POST',
    url: '/v1/coupons/definitions',
    headers: { ...bearer(t.key), 'idempotency-key': `def-${randomBrn()}` },
    payload: { name: 'PIN coupon', rules: { benefit: { kind: 'amount', amount: 1_000 }, validity: { kind: 'days', days: 30 } } },
  });
  assert.equal(definition.statusCode, 201, definition.body);
  const url = `/v1/coupons/definitions/${definition.json().id}/pins`;
  const first = await app.inject({ method: 'POST', url, headers, payload: { count: 3 } });
  assert.equal(first.statusCode, 201, first.body);
  const pins: string[] = first.json().pins;
  assert.equal(pins.length, 3);

  const platformKey = `apikey-${randomBrn()}`;
  const created = await app.inject({
    method: 'POST',
    url: `/platform/v1/tenants/${t.tenant.id}/api-keys`,
    headers: { ...platform, 'idempotency-key': platformKey },
    payload: { name: 'sealed', scope: 'pos' },
  });
  assert.equal(created.statusCode, 201, created.body);
  const apiKey: string = created.json().key;
  const secret = apiKey.slice(apiKey.lastIndexOf('_') + 1);

  assert.deepEqual(await databaseHolding([...pins, pins.map((p) => p.replaceAll('-', '')).join(''), secret]), []);

  const replay = await app.inject({ method: 'POST', url, headers, payload: { count: 3 } });
  assert.equal(replay.statusCode, 201);
  assert.equal(replay.headers['idempotent-replayed'], 'true');
  assert.equal(replay.body, first.body, 'the replay answers the same PINs');
  const again = await app.inject({
    method: 'POST',
    url: `/platform/v1/tenants/${t.tenant.id}/api-keys`,
    headers: { ...platform, 'idempotency-key': platformKey },
    payload: { name: 'sealed', scope: 'pos' },
  });
  assert.equal(again.body, created.body, 'the replay answers the same key, which works');
  assert.equal((await app.inject({ url: '/v1/tenant', headers: bearer(apiKey) })).statusCode, 200);
  const keys = await app.inject({ url: `/platform/v1/tenants/${t.tenant.id}/api-keys`, headers: platform });
  assert.equal(keys.json().items.filter((k: { name: string }) => k.name === 'sealed').length, 1, 'one key created');
});
