import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

test('PATCH a store: nothing to change is a 400, not an SQL error; a change leaves the other fields as they are', async () => {
  const t = await newTenant(deps, 'Stores Input Brand');
  const send = (method: 'POST' | 'PATCH', url: string, payload: object) =>
    app.inject({ method, url, headers: { ...bearer(t.keys.server), 'idempotency-key': `k-${++seq}` }, payload });
  const store = (
    await send('POST', '/v1/stores', { code: 'S1', name: '강남점', address: '강남대로 1', region: '서울', status: 'closed' })
  ).json();
  const empty = await send('PATCH', `/v1/stores/${store.id}`, {});
  assert.equal(empty.statusCode, 400, empty.body);
  assert.match(String(empty.headers['content-type']), /application\/problem\+json/);
  assert.equal(empty.json().code, 'VALIDATION_FAILED');
  // A rename does not reopen a closed store nor clear its address.
  const renamed = await send('PATCH', `/v1/stores/${store.id}`, { name: '강남본점' });
  assert.equal(renamed.statusCode, 200, renamed.body);
  assert.deepEqual(
    [renamed.json().name, renamed.json().address, renamed.json().region, renamed.json().status],
    ['강남본점', '강남대로 1', '서울', 'closed'],
  );
});
