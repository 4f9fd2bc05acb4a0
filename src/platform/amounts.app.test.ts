import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, tenantRows, testApp, testConfig } from '../../test/helpers.ts';
import type { Deps } from './deps.ts';

// The amounts a brand configures (policies, programs, promotions, rewards, coupon benefits, grade
// conditions) are bounded by MOA_MAX_AMOUNT like the amounts of operations.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp({ config: testConfig({ MOA_MAX_AMOUNT: '100000' }) }));
});
after(() => app.close());

test('configured amounts beyond MOA_MAX_AMOUNT are 400 naming the field, and write nothing', async () => {
  const t = await newTenant(deps, 'Amount Settings Brand');
  const send = (method: 'POST' | 'PUT', url: string, payload: object) =>
    app.inject({ method, url, headers: { ...bearer(t.keys.server), 'idempotency-key': `k-${++seq}` }, payload });
  const day = 86_400_000;
  const before = await tenantRows(deps, t.tenant.id);
  for (const [method, url, body, field] of [
    ['POST', '/v1/points/policy', { settings: { maxUsePerOrder: 100_001 } }, 'settings.maxUsePerOrder'],
    ['PUT', '/v1/prepaid/program', { maxBalance: 100_001 }, 'maxBalance'],
    ['POST', '/v1/prepaid/promotions', { name: '충전 보너스', minCharge: 10_000, rewardPoints: 100_001 }, 'rewardPoints'],
    [
      'POST',
      '/v1/stamp-cards',
      {
        name: '스탬프',
        issueFrom: new Date().toISOString(),
        issueUntil: new Date(Date.now() + day).toISOString(),
        stampsPerBoard: 5,
        reward: { type: 'points', points: 100_001 },
      },
      'reward.points',
    ],
    [
      'POST',
      '/v1/coupons/definitions',
      { name: '쿠폰', rules: { benefit: { kind: 'amount', amount: 100_001 }, validity: { kind: 'days', days: 7 } } },
      'rules.benefit.amount',
    ],
    [
      'PUT',
      '/v1/grades',
      {
        levels: [
          { code: 'BASIC', name: '기본', rank: 0, accrualBp: 100 },
          { code: 'VIP', name: 'VIP', rank: 1, accrualBp: 200, minAmount: 100_001 },
        ],
      },
      'levels.1.minAmount',
    ],
  ] as ['POST' | 'PUT', string, object, string][]) {
    const res = await send(method, url, body);
    assert.equal(res.statusCode, 400, `${url} ${res.body}`);
    assert.deepEqual([res.json().code, res.json().errors?.[0]?.field], ['VALIDATION_FAILED', field], url);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  assert.equal((await send('PUT', '/v1/prepaid/program', { maxBalance: 100_000 })).statusCode, 200);
});
