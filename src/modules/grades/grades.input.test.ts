import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newMembers, newTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

test('GET /v1/grades on a brand without levels yet answers no level, not a 500', async () => {
  const t = await newTenant(deps, 'Grades Input Brand');
  const res = await app.inject({ url: '/v1/grades', headers: bearer(t.keys.server) });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { levels: [], reviewCycle: 'monthly' });
});

test('a purchase beyond MOA_MAX_AMOUNT either way is a 400 naming the amount; nothing is written', async () => {
  const t = await newTenant(deps, 'Grades Purchase Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  const before = await tenantRows(deps, t.tenant.id);
  for (const [amount, field] of [
    [1_000_000_000_001, 'amount'],
    [-1_000_000_000_001, 'amount'],
    [9_007_199_254_740_991, 'body.amount'],
  ] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/grades/purchases',
      headers: { ...bearer(t.keys.pos), 'idempotency-key': `k-${++seq}` },
      payload: { memberId: m, amount },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual([res.json().code, res.json().errors[0].field], ['VALIDATION_FAILED', field]);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
});
