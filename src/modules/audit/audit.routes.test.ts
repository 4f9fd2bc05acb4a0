import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { asTableOwner, type PastAccess, writeAccessAt } from '../../../test/access-log-fixtures.ts';
import { bearer, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { updateTenant } from '../tenants/index.ts';
import type { TAccessLogEntry, TMonthlyReport } from './index.ts';

// /v1/audit/access-log: search (filters, keyset pages), verify, and the monthly review report.

let app: FastifyInstance;
let deps: Deps;
before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const get = (t: TestTenant, url: string) => app.inject({ url, headers: bearer(t.keys.server) });
const HOUR = 3_600_000;
const ACTIONS = ['view', 'unmask', 'change', 'download'] as const;

type Row = { seq: number; at: Date; operatorId: string; memberIds: string[]; action: string };

/** 41 rows an hour apart from 2026-06-01: three operators, five members (two in every 7th row), four actions and one export. */
async function searchBrand(): Promise<{ t: TestTenant; rows: Row[] }> {
  const t = await newTenant(deps, 'Audit Search');
  const rows: Row[] = [];
  const base = Date.parse('2026-06-01T00:00:00Z');
  for (let i = 0; i < 41; i++) {
    const at = new Date(base + i * HOUR);
    const a: PastAccess =
      i === 20
        ? { operatorId: 'opr_0', action: 'export', query: { grade: 'GOLD' }, subjectCount: 1200, memberIds: [] }
        : {
            operatorId: `opr_${i % 3}`,
            action: ACTIONS[i % 4],
            memberIds: i % 7 === 0 ? ['mbr_x', `mbr_${i % 5}`] : [`mbr_${i % 5}`],
          };
    const seq = await writeAccessAt(deps.db, t.tenant.id, at, a);
    rows.push({ seq, at, operatorId: a.operatorId!, memberIds: a.memberIds!, action: a.action! });
  }
  return { t, rows };
}

/** Every page of a search (pages of 4), as seqs. */
async function allPages(t: TestTenant, query: Record<string, string>): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const qs = new URLSearchParams({ ...query, limit: '4', ...(cursor ? { cursor } : {}) });
    const res = await get(t, `/v1/audit/access-log?${qs}`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { items: TAccessLogEntry[]; nextCursor: string | null };
    assert.ok(body.items.length <= 4);
    out.push(...body.items.map((e) => e.seq));
    cursor = body.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}

test('search: each filter and their combinations, newest first, over keyset pages with no row twice or missing', async () => {
  const { t, rows } = await searchBrand();
  const other = await newTenant(deps, 'Audit Search Other');
  await writeAccessAt(deps.db, other.tenant.id, new Date('2026-06-01T05:00:00Z'), { operatorId: 'opr_1', memberIds: ['mbr_2'] });
  const from = new Date(Date.parse('2026-06-01T10:00:00Z'));
  const to = new Date(Date.parse('2026-06-02T01:00:00Z'));
  const cases: [Record<string, string>, (r: Row) => boolean][] = [
    [{}, () => true],
    [{ operatorId: 'opr_1' }, (r) => r.operatorId === 'opr_1'],
    [{ memberId: 'mbr_2' }, (r) => r.memberIds.includes('mbr_2')],
    [{ memberId: 'mbr_x' }, (r) => r.memberIds.includes('mbr_x')],
    [{ action: 'unmask' }, (r) => r.action === 'unmask'],
    [{ action: 'export' }, (r) => r.action === 'export'],
    // An instant with its offset: 19:00 KST is 10:00 UTC.
    [{ from: '2026-06-01T19:00:00+09:00', to: to.toISOString() }, (r) => r.at >= from && r.at < to],
    [{ from: from.toISOString() }, (r) => r.at >= from],
    [{ to: to.toISOString() }, (r) => r.at < to],
    [
      { operatorId: 'opr_2', from: from.toISOString(), to: to.toISOString() },
      (r) => r.operatorId === 'opr_2' && r.at >= from && r.at < to,
    ],
    [{ memberId: 'mbr_0', action: 'view' }, (r) => r.memberIds.includes('mbr_0') && r.action === 'view'],
    [{ operatorId: 'opr_9' }, () => false],
    [{ from: '2027-01-01T00:00:00Z' }, () => false],
  ];
  for (const [query, match] of cases) {
    const expected = rows
      .filter(match)
      .map((r) => r.seq)
      .reverse();
    assert.deepEqual(await allPages(t, query), expected, JSON.stringify(query));
  }
  const page = (await get(t, '/v1/audit/access-log?action=export')).json().items[0];
  assert.deepEqual(
    [page.operatorId, page.memberIds, page.subjectCount, page.query, page.fields, page.hash.length],
    ['opr_0', [], 1200, { grade: 'GOLD' }, ['name'], 64],
  );
  // The other tenant's row is not found, with the same operator and member.
  assert.deepEqual(await allPages(other, { operatorId: 'opr_1' }), [1]);
  assert.equal(
    (await get(t, '/v1/audit/access-log?operatorId=opr_1&memberId=mbr_2')).json().items.length,
    rows.filter((r) => r.operatorId === 'opr_1' && r.memberIds.includes('mbr_2')).length,
  );
  for (const bad of [
    'cursor=abc',
    'limit=0',
    'limit=201',
    'action=print',
    `from=${to.toISOString()}&to=${from.toISOString()}`,
    'from=2026-06-01',
  ]) {
    const res = await get(t, `/v1/audit/access-log?${bad}`);
    assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], bad);
  }
});

test('verify: OK with the head, then the seq of a row edited behind the application’s back', async () => {
  const { t } = await searchBrand();
  const ok = await get(t, '/v1/audit/access-log/verify');
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual([ok.json().ok, ok.json().rows, ok.json().head.seq, ok.json().broken], [true, 41, 41, null]);
  await asTableOwner(() =>
    sql`update access_log set member_ids = array['mbr_someone_else'] where tenant_id = ${t.tenant.id} and seq = 17`.execute(
      deps.db,
    ),
  );
  const broken = (await get(t, '/v1/audit/access-log/verify')).json();
  assert.deepEqual([broken.ok, broken.broken.seq, broken.broken.problem], [false, 17, 'edited']);
  const empty = await newTenant(deps, 'Audit Empty');
  assert.deepEqual((await get(empty, '/v1/audit/access-log/verify')).json().head, { seq: 0, hash: '0'.repeat(64) });
});

test('monthly report: 3× the usual month flags an operator, every download and every night access (22:00-07:00, the tenant’s time zone) listed', async () => {
  const t = await newTenant(deps, 'Audit Report');
  const monthStart = Date.parse('2026-10-31T15:00:00Z'); // 2026-11-01 00:00 in Asia/Seoul
  const DAY = 24 * HOUR;
  const plan: [Date, PastAccess][] = [];
  const at = (iso: string) => new Date(iso);
  // Daytime in Seoul and in UTC alike: 08:00 UTC is 17:00 KST.
  const day = (ms: number) => new Date(Math.floor(ms / DAY) * DAY + 8 * HOUR);
  // The baseline: opr_a and opr_b unmask twice in each 30-day period before the month.
  for (let w = 0; w < 3; w++) {
    const start = monthStart - (3 - w) * 30 * DAY;
    for (const k of [2, 5])
      for (const op of ['opr_a', 'opr_b']) plan.push([day(start + k * DAY), { operatorId: op, action: 'unmask' }]);
  }
  // November: opr_a 7 unmasked (> 3 × 2), opr_b 6 (not above), opr_c one export against no history.
  for (let d = 1; d <= 7; d++) plan.push([day(monthStart + d * DAY), { operatorId: 'opr_a', action: d % 2 ? 'unmask' : 'view' }]);
  for (let d = 1; d <= 6; d++)
    plan.push([new Date(day(monthStart + d * DAY).getTime() + HOUR), { operatorId: 'opr_b', action: 'view' }]);
  plan.push([day(monthStart + 9 * DAY), { operatorId: 'opr_c', action: 'export', query: { grade: 'VIP' }, subjectCount: 300 }]);
  // Night and day around the edges (KST = UTC+9), and a download at 23:30 KST.
  plan.push([at('2026-10-31T14:00:00Z'), { operatorId: 'opr_d', action: 'change' }]); // 23:00 KST on 31 October: not November
  plan.push([at('2026-11-10T14:30:00Z'), { operatorId: 'opr_b', action: 'download', reason: '월간 정산 파일 확인' }]);
  plan.push([at('2026-11-11T23:30:00Z'), { operatorId: 'opr_d', action: 'change' }]); // 08:30 KST
  plan.push([at('2026-11-12T21:59:00Z'), { operatorId: 'opr_d', action: 'change' }]); // 06:59 KST: night
  plan.push([at('2026-11-12T22:00:00Z'), { operatorId: 'opr_d', action: 'change' }]); // 07:00 KST
  plan.push([at('2026-11-13T12:59:00Z'), { operatorId: 'opr_d', action: 'change' }]); // 21:59 KST
  plan.push([at('2026-11-13T13:00:00Z'), { operatorId: 'opr_d', action: 'change' }]); // 22:00 KST: night
  plan.push([at('2026-12-01T00:00:00Z'), { operatorId: 'opr_a', action: 'unmask' }]); // December
  plan.sort((x, y) => x[0].getTime() - y[0].getTime());
  for (const [when, a] of plan) await writeAccessAt(deps.db, t.tenant.id, when, a);

  const res = await get(t, '/v1/audit/access-log/report?month=2026-11');
  assert.equal(res.statusCode, 200, res.body);
  const r = res.json() as TMonthlyReport;
  assert.deepEqual([r.timeZone, r.from, r.to], ['Asia/Seoul', '2026-10-31T15:00:00.000Z', '2026-11-30T15:00:00.000Z']);
  const op = Object.fromEntries(r.operators.map((o) => [o.operatorId, o]));
  assert.deepEqual(Object.keys(op), ['opr_a', 'opr_b', 'opr_c', 'opr_d']);
  assert.deepEqual(op.opr_a!.unmasked, { count: 7, baseline: [2, 2, 2], median: 2, flagged: true });
  assert.deepEqual(op.opr_b!.unmasked, { count: 6, baseline: [2, 2, 2], median: 2, flagged: false });
  assert.deepEqual(op.opr_c!.exports, { count: 1, baseline: [0, 0, 0], median: 0, flagged: true });
  assert.deepEqual(
    r.operators.map((o) => [o.operatorId, o.flagged, o.downloads, o.nightAccesses]),
    [
      ['opr_a', true, 0, 0],
      ['opr_b', false, 1, 1],
      ['opr_c', true, 0, 0],
      ['opr_d', false, 0, 2],
    ],
  );
  assert.equal(op.opr_c!.subjects, 300);
  assert.deepEqual(
    r.downloads.items.map((e) => [e.operatorId, e.localTime, e.reason]),
    [['opr_b', '2026-11-10 23:30', '월간 정산 파일 확인']],
  );
  assert.deepEqual(
    [r.nightAccess.total, r.nightAccess.truncated, r.nightAccess.items.map((e) => e.localTime)],
    [3, false, ['2026-11-10 23:30', '2026-11-13 06:59', '2026-11-13 22:00']],
  );
  assert.equal(r.head.seq, plan.length);

  // The same log for a brand in UTC: other month bounds, other nights.
  await updateTenant(deps, t.tenant.id, { timeZone: 'UTC' });
  const utc = (await get(t, '/v1/audit/access-log/report?month=2026-11')).json() as TMonthlyReport;
  assert.deepEqual(
    utc.nightAccess.items.map((e) => e.localTime),
    ['2026-11-11 23:30', '2026-11-12 22:00'],
  );
  assert.equal(utc.from, '2026-11-01T00:00:00.000Z');

  for (const bad of ['month=2026-13', 'month=2026-1', '']) {
    const res = await get(t, `/v1/audit/access-log/report?${bad}`);
    assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], bad);
  }
});

test('the audit routes are the brand servers’ only: a POS or app key gets 403', async () => {
  const t = await newTenant(deps, 'Audit Scopes');
  for (const key of [t.keys.pos, t.keys.app]) {
    const res = await app.inject({ url: '/v1/audit/access-log', headers: bearer(key) });
    assert.deepEqual([res.statusCode, res.json().code], [403, 'FORBIDDEN']);
  }
});
