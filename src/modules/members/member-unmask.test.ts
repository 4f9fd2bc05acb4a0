import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, newMembers, newTenant, signedInOperator, testApp } from '../../../test/helpers.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';

// Masking for operators: a member reads masked everywhere; the unmasked profile needs members:pii,
// a recent second factor and a reason, and every view is one row of the access log.

let now = new Date('2026-12-03T02:00:00Z');
const clock: Clock = { now: () => new Date(now) };
let app: FastifyInstance;
let deps: Deps;
before(async () => {
  ({ app, deps } = await testApp({ clock }));
});
after(() => app.close());

const accessRows = async (tenantId: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from access_log where tenant_id = ${tenantId}`.execute(deps.db)).rows[0]!.n;

test('unmasking: masked by default, members:pii + step-up + a reason, one access-log row per view, the chain verifies', async () => {
  const t = await newTenant(deps);
  const [memberId] = await newMembers(deps, t.tenant.id, 1);
  const owner = await signedInOperator(app, t, 'owner', now);
  const cs = await signedInOperator(app, t, 'cs', now);

  const masked = await app.inject({ url: `/v1/members/${memberId}`, headers: owner.headers });
  assert.equal(masked.statusCode, 200);
  assert.match(masked.json().name, /\*/);

  const url = `/v1/members/${memberId}/unmask`;
  const denied = await app.inject({ method: 'POST', url, headers: cs.headers, payload: { reason: '배송지 확인 문의 #1234' } });
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json().details.permission, 'members:pii');

  const short = await app.inject({ method: 'POST', url, headers: owner.headers, payload: { reason: 'why' } });
  assert.equal(short.statusCode, 400);
  assert.equal(await accessRows(t.tenant.id), 0, 'a rejected request writes nothing');

  const shown = await app.inject({ method: 'POST', url, headers: owner.headers, payload: { reason: '배송지 확인 문의 #1234' } });
  assert.equal(shown.statusCode, 200, shown.body);
  assert.doesNotMatch(shown.json().name, /\*/);
  assert.equal(shown.json().accessLogSeq, 1);

  const log = await app.inject({ url: '/v1/audit/access-log', headers: bearer(t.keys.server) });
  const [row] = log.json().items;
  const me = (await app.inject({ url: '/auth/session', headers: owner.headers })).json().operator.id;
  assert.equal(row.operatorId, me);
  assert.equal(row.action, 'unmask');
  assert.deepEqual(row.memberIds, [memberId]);
  assert.equal(row.reason, '배송지 확인 문의 #1234');

  // 16 minutes later the second factor is stale: step-up first.
  now = new Date(now.getTime() + 16 * 60_000);
  const stale = await app.inject({ method: 'POST', url, headers: owner.headers, payload: { reason: '배송지 확인 문의 #1234' } });
  assert.equal(stale.json().code, 'STEP_UP_REQUIRED');
  assert.equal(await accessRows(t.tenant.id), 1);

  const verify = await app.inject({ url: '/v1/audit/access-log/verify', headers: bearer(t.keys.server) });
  assert.equal(verify.json().ok, true, verify.body);
});
