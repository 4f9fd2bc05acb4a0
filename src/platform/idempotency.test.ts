import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, newTenant, platform, randomBrn, testApp } from '../../test/helpers.ts';
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
    app.inject({ method: 'PATCH', url: '/v1/tenant', headers: { ...bearer(k), 'idempotency-key': 'shared-key-1' }, payload: { name } });
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
  await deps.db.updateTable('tenant').set({ business_registration_number: randomBrn() }).where('id', '=', existing.json().id).execute();
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
  const plain = await app.inject({ method: 'POST', url: '/platform/v1/tenants', headers: platform, payload: { name: 'No key', businessRegistrationNumber: randomBrn() } });
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
  const rows = await deps.db.selectFrom('tenant').select('id').where('business_registration_number', '=', body.businessRegistrationNumber).execute();
  assert.equal(rows.length, 1);
  assert.equal(await outboxCount(rows[0]!.id, 'tenant.created'), 1);
});

test('expired keys are purged and may then be used again', async () => {
  const key = `expire-${randomBrn()}`;
  const first = await createTenant(key, { name: 'Old', businessRegistrationNumber: randomBrn() });
  assert.equal(first.statusCode, 201);
  const stored = await deps.db.selectFrom('idempotency_key').select(['created_at', 'expires_at']).where('key', '=', key).executeTakeFirstOrThrow();
  assert.ok(stored.expires_at.getTime() - stored.created_at.getTime() >= 24 * 3600 * 1000, 'kept at least 24 hours');

  await deps.db.updateTable('idempotency_key').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('key', '=', key).execute();
  const reused = await createTenant(key, { name: 'New', businessRegistrationNumber: randomBrn() });
  assert.equal(reused.statusCode, 201, 'an expired key is a new request');
  assert.notEqual(reused.json().id, first.json().id);

  await deps.db.updateTable('idempotency_key').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('key', '=', key).execute();
  assert.ok((await purgeExpiredIdempotencyKeys(deps.db)) >= 1);
  assert.equal((await deps.db.selectFrom('idempotency_key').select('key').where('key', '=', key).execute()).length, 0);
});

test('request hashing ignores key order but not values, method or path', () => {
  assert.equal(stableStringify({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  assert.equal(requestHash('POST', '/x', { a: 1, b: 2 }), requestHash('POST', '/x', { b: 2, a: 1 }));
  assert.notEqual(requestHash('POST', '/x', { a: 1 }), requestHash('POST', '/x', { a: 2 }));
  assert.notEqual(requestHash('POST', '/x', { a: 1 }), requestHash('PUT', '/x', { a: 1 }));
  assert.notEqual(requestHash('POST', '/x', { a: 1 }), requestHash('POST', '/y', { a: 1 }));
});
