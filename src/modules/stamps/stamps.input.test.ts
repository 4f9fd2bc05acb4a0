import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, newMembers, newTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

test('stamps for an order at a store that is not the brand’s, or beyond MOA_MAX_AMOUNT, are refused and write nothing', async () => {
  const t = await newTenant(deps, 'Stamps Input Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  await addStores(deps, t.tenant.id, ['mine']);
  const other = await newTenant(deps, 'Other Brand');
  await addStores(deps, other.tenant.id, ['theirs']);
  const send = (key: string, url: string, payload: object) =>
    app.inject({ method: 'POST', url, headers: { ...bearer(key), 'idempotency-key': `k-${++seq}` }, payload });
  const card = await send(t.keys.server, '/v1/stamp-cards', {
    name: '스탬프',
    issueFrom: new Date(Date.now() - 86_400_000).toISOString(),
    issueUntil: new Date(Date.now() + 86_400_000).toISOString(),
    stampsPerBoard: 5,
    reward: { type: 'points', points: 10 },
  });
  assert.equal(card.statusCode, 201, card.body);
  const order = (extra: object) => ({
    memberId: m,
    orderId: `o-${++seq}`,
    channel: 'offline',
    storeId: 'mine',
    amount: 5_000,
    ...extra,
  });
  const before = await tenantRows(deps, t.tenant.id);
  for (const [extra, status, code] of [
    [{ storeId: 'nowhere' }, 404, 'NOT_FOUND'],
    [{ storeId: 'theirs' }, 404, 'NOT_FOUND'],
    [{ amount: 1_000_000_000_001 }, 400, 'VALIDATION_FAILED'],
    [{ items: [{ productId: 'x', quantity: 2, unitPrice: 600_000_000_000 }] }, 400, 'VALIDATION_FAILED'],
  ] as [object, number, string][]) {
    const res = await send(t.keys.pos, '/v1/stamps/earn', order(extra));
    assert.deepEqual([res.statusCode, res.json().code], [status, code], res.body);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  const ok = await send(t.keys.pos, '/v1/stamps/earn', order({}));
  assert.deepEqual([ok.statusCode, ok.json().items[0]?.earned], [200, 1], ok.body);
});

test('stamp card numbers beyond their columns are refused by the schema, naming the field', async () => {
  const t = await newTenant(deps, 'Stamps Card Input Brand');
  const base = {
    name: '스탬프',
    issueFrom: new Date().toISOString(),
    issueUntil: new Date(Date.now() + 86_400_000).toISOString(),
    stampsPerBoard: 5,
    reward: { type: 'points', points: 10 },
  };
  for (const [extra, field] of [
    [{ maxBoards: 2 ** 40 }, 'body.maxBoards'],
    [{ stampValidityDays: 2 ** 40 }, 'body.stampValidityDays'],
    [{ reward: { type: 'points', points: 2 ** 60 } }, 'body.reward.points'],
  ] as [object, string][]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/stamp-cards',
      headers: { ...bearer(t.keys.server), 'idempotency-key': `k-${++seq}` },
      payload: { ...base, ...extra },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().errors?.[0]?.field, field, res.body);
  }
});
