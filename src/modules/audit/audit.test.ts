import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { asTableOwner } from '../../../test/access-log-fixtures.ts';
import { newTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import { withTransaction } from '../../platform/db.ts';
import { asSystem, withTenant } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { recordAccess, type TAccessEntry, verifyAccessLog } from './index.ts';

// The access log's guarantees (migrations/0028_access_log.sql): a gap-free hash chain appended in
// one statement, read-only to the application roles, and a verify that names the first broken seq.
// On PGlite and on PostgreSQL (npm test -- src/modules/audit/audit.test.ts with TEST_DATABASE_URL).

let app: FastifyInstance;
let deps: Deps;
before(async () => {
  ({ app, deps } = await testApp());
  // A route of the brand's own (the console to come) that unmasks: the rejection reaches HTTP as problem+json.
  app.post('/test/unmask', async (req) => {
    const { tenantId, ...entry } = req.body as TAccessEntry & { tenantId: string };
    return recordAccess(deps.db, tenantId, entry);
  });
});
after(() => app.close());

const view = (i = 0): TAccessEntry => ({
  operatorId: `opr_${i % 3}`,
  ip: '203.0.113.7',
  action: 'view',
  memberIds: [`mbr_${i}`],
  fields: ['name', 'phone'],
  requestId: `req-${i}`,
});

async function tenantWith(n: number): Promise<string> {
  const t = (await newTenant(deps, 'Audit Brand')).tenant.id;
  for (let i = 0; i < n; i++) await recordAccess(deps.db, t, view(i));
  return t;
}

const rows = (t: string) => deps.db.selectFrom('access_log').selectAll().where('tenant_id', '=', t).orderBy('seq').execute();

test('each row chains on the one before: hash = sha256(prev_hash ‖ canonical row), seq 1, 2, 3', async () => {
  const t = await tenantWith(3);
  const log = await rows(t);
  assert.deepEqual(
    log.map((r) => r.seq),
    [1, 2, 3],
  );
  assert.deepEqual(Buffer.from(log[0]!.prev_hash), Buffer.alloc(32), 'the first row chains on 32 zero bytes');
  for (const [i, r] of log.entries()) {
    if (i > 0) assert.deepEqual(Buffer.from(r.prev_hash), Buffer.from(log[i - 1]!.hash));
    const { rows: c } = await sql<{ text: string }>`
      select moa_access_log_canonical(tenant_id, seq, at, operator_id, ip, action, member_ids, subject_count, query, fields,
        reason, request_id) as text from access_log where tenant_id = ${t} and seq = ${r.seq}`.execute(deps.db);
    const expected = createHash('sha256').update(Buffer.from(r.prev_hash)).update(c[0]!.text, 'utf8').digest();
    assert.deepEqual(Buffer.from(r.hash), expected, `seq ${r.seq}`);
    assert.equal(JSON.parse(c[0]!.text)[0], t);
  }
  // The canonical text does not depend on the session's time zone.
  const texts = await withTransaction(deps.db, async (trx) => {
    const q = sql<{ text: string }>`select moa_access_log_canonical(tenant_id, seq, at, operator_id, ip, action, member_ids,
      subject_count, query, fields, reason, request_id) as text from access_log where tenant_id = ${t} and seq = 1`;
    const utc = (await q.execute(trx)).rows[0]!.text;
    await sql`set local timezone = 'America/New_York'`.execute(trx);
    return [utc, (await q.execute(trx)).rows[0]!.text];
  });
  assert.equal(texts[0], texts[1]);
  const head = await deps.db.selectFrom('access_log_chain').selectAll().where('tenant_id', '=', t).executeTakeFirstOrThrow();
  assert.equal(head.last_seq, 3);
  assert.deepEqual(Buffer.from(head.last_hash), Buffer.from(log[2]!.hash));
  assert.equal((await verifyAccessLog(deps, t)).ok, true);
});

test('50 parallel appends of one tenant (half under the tenant, half as moa_system), interleaved with another: seq 1-50 with no gap, the chain intact', async () => {
  const [a, b] = [await tenantWith(0), await tenantWith(0)];
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const run = () => recordAccess(deps.db, a, view(i));
      const other = i % 5 === 0 ? recordAccess(deps.db, b, view(i)) : Promise.resolve();
      return Promise.all([i % 2 ? withTenant(a, run) : asSystem(run), other]).then(([r]) => r);
    }),
  );
  assert.deepEqual(
    results.map((r) => r.seq).sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  const log = await rows(a);
  assert.deepEqual(
    log.map((r) => r.seq),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  for (let i = 1; i < log.length; i++) assert.ok(log[i]!.at >= log[i - 1]!.at, 'seq order is time order');
  const v = await verifyAccessLog(deps, a);
  assert.deepEqual([v.ok, v.rows, v.firstSeq, v.lastSeq, v.head.seq], [true, 50, 1, 50, 50]);
  assert.deepEqual([(await verifyAccessLog(deps, b)).ok, (await verifyAccessLog(deps, b)).rows], [true, 10]);
});

test('recorded inside a caller’s transaction: rolled back with it, and the seq it took is reused', async () => {
  const t = await tenantWith(1);
  await assert.rejects(
    withTransaction(deps.db, async (trx) => {
      assert.equal((await recordAccess(trx, t, view(1))).seq, 2);
      throw new Error('the caller fails after logging');
    }),
    /the caller fails/,
  );
  assert.equal((await recordAccess(deps.db, t, view(2))).seq, 2);
  assert.equal((await verifyAccessLog(deps, t)).ok, true);
});

test('verify names the first broken seq: a row edited, deleted, reordered, cut off the end, or added past the head', async () => {
  const cases: [string, (t: string) => ReturnType<typeof sql>, { seq: number; problem: string }][] = [
    [
      'an edited row',
      (t) => sql`update access_log set ip = '198.51.100.9' where tenant_id = ${t} and seq = 3`,
      { seq: 3, problem: 'edited' },
    ],
    [
      'an edited reason, its hash recomputed by the editor',
      (t) => sql`update access_log set reason = 'covered up',
        hash = moa_access_log_hash(prev_hash, moa_access_log_canonical(tenant_id, seq, at, operator_id, ip, action, member_ids,
          subject_count, query, fields, 'covered up', request_id)) where tenant_id = ${t} and seq = 2`,
      { seq: 3, problem: 'link' },
    ],
    ['a deleted row', (t) => sql`delete from access_log where tenant_id = ${t} and seq = 2`, { seq: 2, problem: 'missing' }],
    [
      'two rows swapped',
      (t) => sql`update access_log a set at = b.at, operator_id = b.operator_id, ip = b.ip, action = b.action,
        member_ids = b.member_ids, subject_count = b.subject_count, query = b.query, fields = b.fields, reason = b.reason,
        request_id = b.request_id, prev_hash = b.prev_hash, hash = b.hash
        from access_log b where a.tenant_id = ${t} and b.tenant_id = ${t} and a.seq in (3, 4) and b.seq = 7 - a.seq`,
      { seq: 3, problem: 'edited' },
    ],
    [
      'the last row deleted',
      (t) => sql`delete from access_log where tenant_id = ${t} and seq = 5`,
      { seq: 5, problem: 'missing' },
    ],
    [
      'a well-chained row added past the head',
      (
        t,
      ) => sql`insert into access_log select tenant_id, 6, at, operator_id, ip, action, member_ids, subject_count, query, fields,
        reason, request_id, hash, moa_access_log_hash(hash, moa_access_log_canonical(tenant_id, 6, at, operator_id, ip, action,
          member_ids, subject_count, query, fields, reason, request_id))
        from access_log where tenant_id = ${t} and seq = 5`,
      { seq: 6, problem: 'extra' },
    ],
  ];
  for (const [what, change, expected] of cases) {
    const t = await tenantWith(5);
    assert.equal((await verifyAccessLog(deps, t)).ok, true);
    // As the tables' owner (a superuser here): what no application role can do.
    await asTableOwner(() => change(t).execute(deps.db));
    const v = await verifyAccessLog(deps, t);
    assert.equal(v.ok, false, what);
    assert.deepEqual({ seq: v.broken!.seq, problem: v.broken!.problem }, expected, `${what}: ${v.broken!.detail}`);
  }
});

test('the application roles cannot insert, update, delete or truncate the log or its head, nor purge or write history', async () => {
  const t = await tenantWith(2);
  const statements = [
    sql`update access_log set reason = 'x' where tenant_id = ${t}`,
    sql`delete from access_log where tenant_id = ${t}`,
    sql`truncate access_log`,
    sql`insert into access_log select * from access_log where tenant_id = ${t}`,
    sql`delete from access_log_member where tenant_id = ${t}`,
    sql`insert into access_log_member values (${t}, 'mbr_forged', 1)`,
    sql`update access_log_chain set last_seq = 0 where tenant_id = ${t}`,
    sql`delete from access_log_chain where tenant_id = ${t}`,
    sql`select * from moa_access_log_write(now(), ${t}, 'opr_x', '192.0.2.1', 'view', array['m'], 1, null, array['name'], null, null)`,
  ];
  const runners: [string, (fn: () => Promise<unknown>) => Promise<unknown>][] = [
    ['moa_app', (fn) => withTenant(t, fn)],
    ['moa_system', (fn) => asSystem(fn)],
  ];
  for (const [who, run] of runners) {
    for (const s of statements) {
      await assert.rejects(
        run(() => s.execute(deps.db)),
        (err: { code?: string }) => err.code === '42501',
        `${who}: ${s.compile(deps.db).sql.slice(0, 60)}`,
      );
    }
  }
  await assert.rejects(
    withTenant(t, () => sql`select moa_access_log_purge(${t}, interval '2 years', 10)`.execute(deps.db)),
    (err: { code?: string }) => err.code === '42501',
  );
  // A request appends only under its own tenant.
  const other = await tenantWith(0);
  await assert.rejects(
    withTenant(t, () => recordAccess(deps.db, other, view())),
    (err: { code?: string }) => err.code === '42501',
  );
  // Both roles read (under row-level security), and the log is untouched.
  assert.equal((await withTenant(t, () => rows(t))).length, 2);
  assert.equal((await withTenant(other, () => rows(t))).length, 0);
  assert.equal((await verifyAccessLog(deps, t)).ok, true);
});

test('unmask, export and download need a reason of 5 characters: ACCESS_REASON_REQUIRED (400 problem+json), nothing written', async () => {
  const tt = await newTenant(deps, 'Audit Reasons');
  const t = tt.tenant.id;
  await recordAccess(deps.db, t, view());
  const before = await tenantRows(deps, t);
  for (const entry of [
    { ...view(), action: 'unmask' as const },
    { ...view(), action: 'unmask' as const, reason: '  확인  ' },
    { ...view(), action: 'export' as const, memberIds: [], subjectCount: 120, query: { grade: 'GOLD' }, reason: 'abc' },
    { ...view(), action: 'download' as const, reason: '    ' },
  ]) {
    await assert.rejects(recordAccess(deps.db, t, entry), (err: unknown) => {
      assert.ok(isAppError(err) && err.code === 'ACCESS_REASON_REQUIRED' && err.status === 400, String(err));
      return true;
    });
  }
  const res = await app.inject({
    method: 'POST',
    url: '/test/unmask',
    payload: { tenantId: t, ...view(), action: 'unmask', reason: 'why' },
  });
  assert.equal(res.statusCode, 400);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  assert.deepEqual(
    [res.json().code, res.json().type, res.json().details.minLength],
    ['ACCESS_REASON_REQUIRED', '/problems/ACCESS_REASON_REQUIRED', 5],
  );
  // The database refuses it too, whoever calls the function.
  await assert.rejects(
    withTenant(t, () =>
      sql`select * from moa_access_log_append(${t}, 'opr_1', '192.0.2.1', 'unmask', array['mbr_1'], 1, null, array['name'], 'abcd', null)`.execute(
        deps.db,
      ),
    ),
    (err: { code?: string; constraint?: string }) => err.code === '23514' && err.constraint === 'access_log_reason',
  );
  assert.deepEqual(await tenantRows(deps, t), before);
  assert.equal((await verifyAccessLog(deps, t)).head.seq, 1);
  // With a reason it is recorded, trimmed.
  const ok = await recordAccess(deps.db, t, { ...view(), action: 'unmask', reason: '  고객 문의 확인  ' });
  assert.equal(ok.seq, 2);
  assert.equal((await rows(t))[1]!.reason, '고객 문의 확인');
  // Other rules of an entry: a field outside the list, no subjects, an export without its query.
  for (const bad of [
    { ...view(), fields: ['shoeSize'] },
    { ...view(), memberIds: [] },
    { ...view(), action: 'export' as const, reason: '정기 보고서 추출' },
    { ...view(), ip: 'not-an-ip' },
  ]) {
    await assert.rejects(recordAccess(deps.db, t, bad as TAccessEntry), (err: unknown) => {
      assert.ok(err instanceof AppError && err.code === 'VALIDATION_FAILED', String(err));
      return true;
    });
  }
  assert.equal((await verifyAccessLog(deps, t)).head.seq, 2);
});
