import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newMembers, newTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { newId } from '../../platform/ids.ts';

// Every /v1/members/{id}/… read answers an unknown member (or another brand's) as GET
// /v1/members/{id} does: 404 NOT_FOUND, never 200 [] (and writes nothing).

let app: FastifyInstance;
let deps: Deps;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const SUBRESOURCES = ['coupons', 'prepaid/cards', 'points', 'points/operations', 'stamp-cards', 'grade-history'];

test('a member sub-resource of an unknown member or another brand’s is NOT_FOUND, like the member itself', async () => {
  const t = await newTenant(deps, 'Subresources Brand');
  const [mine] = await newMembers(deps, t.tenant.id, 1);
  const other = await newTenant(deps, 'Other Brand');
  const [theirs] = await newMembers(deps, other.tenant.id, 1);
  // A stamp card issuing now: reading a member's cards must not open a wallet for an unknown member.
  const card = await app.inject({
    method: 'POST',
    url: '/v1/stamp-cards',
    headers: { ...bearer(t.keys.server), 'idempotency-key': 'card' },
    payload: {
      name: '스탬프',
      issueFrom: new Date(Date.now() - 86_400_000).toISOString(),
      issueUntil: new Date(Date.now() + 86_400_000).toISOString(),
      stampsPerBoard: 5,
      reward: { type: 'points', points: 10 },
    },
  });
  assert.equal(card.statusCode, 201, card.body);
  const before = await tenantRows(deps, t.tenant.id);
  for (const id of [newId('mbr'), theirs!]) {
    const member = await app.inject({ url: `/v1/members/${id}`, headers: bearer(t.keys.server) });
    assert.equal(member.statusCode, 404);
    for (const path of SUBRESOURCES) {
      const res = await app.inject({ url: `/v1/members/${id}/${path}`, headers: bearer(t.keys.server) });
      assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(res.json().code, member.json().code, path);
    }
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  for (const path of SUBRESOURCES)
    assert.equal(
      (await app.inject({ url: `/v1/members/${mine}/${path}`, headers: bearer(t.keys.server) })).statusCode,
      200,
      path,
    );
});
