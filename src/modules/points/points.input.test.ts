import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, newMembers, newTenant, type TestTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

// Bad point writes are a 4xx problem that writes nothing: amounts beyond MOA_MAX_AMOUNT, stores
// that are not the brand's.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const call = (t: TestTenant, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.server), 'idempotency-key': `k-${++seq}` }, payload });

test('earn, use and adjust beyond MOA_MAX_AMOUNT are 400 naming the field; nothing is written', async () => {
  const t = await newTenant(deps, 'Points Input Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  const before = await tenantRows(deps, t.tenant.id);
  for (const [url, body, field] of [
    ['/v1/points/earn', { memberId: m, orderId: 'o1', paidAmount: 9_007_199_254_740_991, channel: 'app' }, 'body.paidAmount'],
    ['/v1/points/earn', { memberId: m, orderId: 'o1', paidAmount: 1_000_000_000_001, channel: 'app' }, 'paidAmount'],
    ['/v1/points/use', { memberId: m, orderId: 'o2', amount: 1_000_000_000_001, channel: 'app' }, 'amount'],
    ['/v1/points/use', { memberId: m, orderId: 'o2', amount: 10, orderAmount: 1_000_000_000_001, channel: 'app' }, 'orderAmount'],
    ['/v1/points/adjustments', { adjustmentId: 'a1', memberId: m, amount: 2_000_000_000_000, reason: 'typo' }, 'amount'],
    ['/v1/points/adjustments', { adjustmentId: 'a2', memberId: m, amount: -2_000_000_000_000, reason: 'typo' }, 'amount'],
  ] as [string, object, string][]) {
    const res = await call(t, url, body);
    assert.equal(res.statusCode, 400, `${url} ${res.body}`);
    assert.deepEqual([res.json().code, res.json().errors[0].field], ['VALIDATION_FAILED', field]);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
});

test('an earning or use at a store that does not exist or is another brand’s is NOT_FOUND; nothing is written', async () => {
  const t = await newTenant(deps, 'Points Store Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  await addStores(deps, t.tenant.id, ['mine']);
  const other = await newTenant(deps, 'Other Brand');
  await addStores(deps, other.tenant.id, ['theirs']);
  assert.equal(
    (await call(t, '/v1/points/adjustments', { adjustmentId: 'a1', memberId: m, amount: 1_000, reason: 'start' })).statusCode,
    200,
  );
  const before = await tenantRows(deps, t.tenant.id);
  for (const storeId of ['nowhere', 'theirs']) {
    for (const [url, body] of [
      ['/v1/points/earn', { memberId: m, orderId: `e-${storeId}`, paidAmount: 10_000, channel: 'offline', storeId }],
      ['/v1/points/use', { memberId: m, orderId: `u-${storeId}`, amount: 100, channel: 'offline', storeId }],
    ] as [string, object][]) {
      const res = await call(t, url, body);
      assert.equal(res.statusCode, 404, `${url} ${res.body}`);
      assert.deepEqual([res.json().code, res.json().details], ['NOT_FOUND', { storeId }]);
    }
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  assert.equal(
    (
      await call(t, '/v1/points/earn', {
        memberId: m,
        orderId: 'e-mine',
        paidAmount: 10_000,
        channel: 'offline',
        storeId: 'mine',
      })
    ).statusCode,
    200,
  );
});
