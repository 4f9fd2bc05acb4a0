import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { importMembers } from '../members/index.ts';
import { runGradeReviews } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const LEVELS = {
  reviewCycle: 'monthly',
  levels: [
    { code: 'WELCOME', name: '웰컴', rank: 0, accrualBp: 100 },
    { code: 'SILVER', name: '실버', rank: 1, accrualBp: 200, minOrders: 2, windowDays: 90, benefit: '음료 1잔' },
    { code: 'GOLD', name: '골드', rank: 2, accrualBp: 300, minOrders: 3, minAmount: 100_000, windowDays: 365 },
  ],
};

async function brandWithMembers(n: number): Promise<{ t: TestTenant; ids: string[] }> {
  const t = await newTenant(deps, 'Grades Brand');
  const put = await app.inject({ method: 'PUT', url: '/v1/grades', headers: bearer(t.keys.server), payload: LEVELS });
  assert.equal(put.statusCode, 200, put.body);
  const csv = [
    'login_id,name,phone,consent_terms,consent_privacy',
    ...Array.from({ length: n }, (_, i) => `grade${i},회원${i},010${String(70_000_000 + ++seq * 10 + i)},Y,Y`),
  ];
  await importMembers(deps, t.tenant.id, `g${seq}`, [csv.join('\n')]);
  const ids = (
    await deps.db.selectFrom('member').select('id').where('tenant_id', '=', t.tenant.id).orderBy('login_id').execute()
  ).map((r) => r.id);
  return { t, ids };
}

const buy = (t: TestTenant, memberId: string, amount: number, key = `buy-${++seq}`, orders = 1) =>
  app.inject({
    method: 'POST',
    url: '/v1/grades/purchases',
    headers: { ...bearer(t.keys.pos), 'idempotency-key': key },
    payload: { memberId, amount, orders },
  });
const evaluate = (t: TestTenant, id: string) =>
  app.inject({ method: 'POST', url: `/v1/members/${id}/grade/evaluate`, headers: bearer(t.keys.server) });
const history = async (t: TestTenant, id: string) =>
  (await app.inject({ url: `/v1/members/${id}/grade-history`, headers: bearer(t.keys.server) })).json().items;

test('purchases raise the grade at evaluation; a retried purchase counts once; a cancellation lowers it again', async () => {
  const { t, ids } = await brandWithMembers(1);
  const m = ids[0]!;
  const settings = (await app.inject({ url: '/v1/grades', headers: bearer(t.keys.app) })).json();
  assert.deepEqual(
    settings.levels.map((l: { code: string }) => l.code),
    ['WELCOME', 'SILVER', 'GOLD'],
  );

  assert.deepEqual((await evaluate(t, m)).json().grade, 'WELCOME');
  const first = await buy(t, m, 30_000, 'order-1');
  assert.equal(first.statusCode, 204, first.body);
  assert.equal((await buy(t, m, 30_000, 'order-1')).headers['idempotent-replayed'], 'true');
  assert.equal((await evaluate(t, m)).json().grade, 'WELCOME', 'one order, counted once');
  await buy(t, m, 30_000);
  const silver = (await evaluate(t, m)).json();
  assert.deepEqual([silver.grade, silver.changed, silver.level.accrualBp], ['SILVER', true, 200]);
  await buy(t, m, 50_000);
  assert.equal((await evaluate(t, m)).json().grade, 'GOLD', '3 orders and 110,000 won');
  await buy(t, m, -50_000, `cancel-${seq}`, -1);
  assert.equal((await evaluate(t, m)).json().grade, 'SILVER', 'the cancellation takes it back');

  const h = await history(t, m);
  assert.deepEqual(
    h.map((c: { from: string | null; to: string }) => [c.from, c.to]),
    [
      ['GOLD', 'SILVER'],
      ['SILVER', 'GOLD'],
      ['WELCOME', 'SILVER'],
      [null, 'WELCOME'],
    ],
  );
  const events = await deps.db
    .selectFrom('outbox')
    .select('payload')
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'member.grade_changed')
    .execute();
  assert.equal(events.length, 4);
  assert.equal((await buy(t, 'mbr_00000000000000000000000000', 1)).statusCode, 404);
});

test('an operator changes a grade with a reason; the review job evaluates every active member once per cycle', async () => {
  const { t, ids } = await brandWithMembers(3);
  const noReason = await app.inject({
    method: 'PUT',
    url: `/v1/members/${ids[0]}/grade`,
    headers: bearer(t.keys.server),
    payload: { grade: 'GOLD', reason: ' ' },
  });
  assert.equal(noReason.statusCode, 400);
  const unknown = await app.inject({
    method: 'PUT',
    url: `/v1/members/${ids[0]}/grade`,
    headers: bearer(t.keys.server),
    payload: { grade: 'VIP', reason: 'x' },
  });
  assert.equal(unknown.json().errors[0].field, 'grade');
  const change = () =>
    app.inject({
      method: 'PUT',
      url: `/v1/members/${ids[0]}/grade`,
      headers: { ...bearer(t.keys.server), 'idempotency-key': `manual-${t.tenant.id}` },
      payload: { grade: 'GOLD', reason: 'VOC 보상', actor: 'op-kim' },
    });
  const manual = await change();
  assert.deepEqual([manual.json().grade, manual.json().changed], ['GOLD', true]);
  const retried = await change();
  assert.deepEqual(
    [retried.headers['idempotent-replayed'], retried.json().changed],
    ['true', true],
    'a retry gets the first answer',
  );
  assert.deepEqual(
    (await history(t, ids[0]!)).map((c: { source: string; reason: string; actor: string }) => [c.source, c.reason, c.actor]),
    [['manual', 'VOC 보상', 'op-kim']],
  );

  await buy(t, ids[1]!, 10_000);
  await buy(t, ids[1]!, 10_000);
  assert.equal(await runGradeReviews(deps, { tenantId: t.tenant.id }), 3);
  assert.equal(await runGradeReviews(deps, { tenantId: t.tenant.id }), 0, 'not due again within the month');
  const grades = await deps.db
    .selectFrom('member')
    .select(['id', 'grade'])
    .where('tenant_id', '=', t.tenant.id)
    .orderBy('login_id')
    .execute();
  assert.deepEqual(
    grades.map((g) => g.grade),
    ['WELCOME', 'SILVER', 'WELCOME'],
    'the review sets what purchases earn, overriding a manual grade',
  );
});
