// npm run bench:access-log — the personal-data access log at size: one tenant with BENCH_ROWS rows
// (default 1,000,000, spread over two years) and a valid hash chain, then
//   search   p50/p99 of the console's searches (by operator, by member, by period, by action, none),
//            each on its first page and on a deep page (a cursor far into the results), as moa_app
//            under the tenant, through the service the route calls;
//   verify   the whole chain recomputed (rows/s);
//   append   recordAccess on the full log (p50/p99), and the monthly report of a month.
// The rows are made by SQL (generate_series-like recursion, the chain computed by the database's
// own hash functions, 100,000 rows a statement) as the tables' owner; the fill is timed on its own.
// Prints one JSON line per measurement.
//
//   BENCH_ENGINES (pglite, + postgres with DATABASE_URL/TEST_DATABASE_URL)   BENCH_ROWS   BENCH_ITERATIONS (default 30)
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { monthlyReport, recordAccess, searchAccessLog, verifyAccessLog } from '../src/modules/audit/index.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import type { Db } from '../src/platform/db.ts';
import { asOwner, asSystem, withTenant } from '../src/platform/db-context.ts';
import { randomBrn } from '../test/helpers.ts';
import { benchEngines, openBenchDatabase } from './engines.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);
const CHUNK = 100_000;
const OPERATORS = 50;
const MEMBERS = 100_000;
const SPAN_DAYS = 730;
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const round = (n: number) => Math.round(n * 100) / 100;

// One row of the benchmark's log as a function of its seq: 50 operators, 100,000 members (one or
// two a row; 'mbr_hot' in every 100th), every action, exports with a query and a reason.
const ROW_FUNCTION = `
create or replace function bench_access_row(t text, s bigint, base timestamptz, step interval)
returns table (tenant_id text, seq bigint, at timestamptz, operator_id text, ip inet, action text, member_ids text[],
  subject_count integer, query jsonb, fields text[], reason text, request_id text)
language sql immutable as $$
  select t, s, base + step * s, 'opr_' || lpad((s % ${OPERATORS})::text, 2, '0'),
    ('10.' || (s % 200) || '.' || (s % 250) || '.' || (s % 199 + 1))::inet, a.action,
    case when a.action = 'export' then '{}'::text[]
         when s % 100 = 0 then array['mbr_' || (s * 7919 % ${MEMBERS}), 'mbr_hot']
         when s % 3 = 0 then array['mbr_' || (s * 7919 % ${MEMBERS}), 'mbr_' || (s * 104729 % ${MEMBERS})]
         else array['mbr_' || (s * 7919 % ${MEMBERS})] end,
    case when a.action = 'export' then 1000 when s % 100 = 0 or s % 3 = 0 then 2 else 1 end,
    case when a.action in ('export', 'download') then jsonb_build_object('grade', 'GOLD', 'page', s % 10) end,
    array['name', 'phone'],
    case when a.action in ('unmask', 'export', 'download') then 'bench reason ' || s end,
    'req-' || s
  from (select (array['view', 'view', 'view', 'unmask', 'unmask', 'change', 'export', 'download', 'delete', 'view'])[s % 10 + 1]
    as action) a
$$`;

/** Rows start+1 … end chained on startHash, in one statement; returns the last hash. */
async function fillChunk(db: Db, t: string, start: number, end: number, startHash: Buffer, base: Date, stepMs: number) {
  const step = sql`make_interval(secs => ${stepMs / 1000}::double precision)`;
  const canonical = sql`moa_access_log_canonical(r.tenant_id, r.seq, r.at, r.operator_id, r.ip, r.action, r.member_ids,
    r.subject_count, r.query, r.fields, r.reason, r.request_id)`;
  await sql`
    with recursive g(seq, hash) as (
      select ${start}::bigint, ${startHash}::bytea
      union all
      select g.seq + 1, moa_access_log_hash(g.hash, ${canonical})
      from g, lateral bench_access_row(${t}, g.seq + 1, ${base}, ${step}) r
      where g.seq < ${end}
    )
    insert into access_log (tenant_id, seq, at, operator_id, ip, action, member_ids, subject_count, query, fields, reason,
      request_id, prev_hash, hash)
    select r.*, lag(g.hash, 1, ${startHash}::bytea) over (order by g.seq), g.hash
    from g, lateral bench_access_row(${t}, g.seq, ${base}, ${step}) r
    where g.seq > ${start}`.execute(db);
  await sql`insert into access_log_member (tenant_id, member_id, seq)
    select distinct tenant_id, unnest(member_ids), seq from access_log where tenant_id = ${t} and seq > ${start} and seq <= ${end}`.execute(
    db,
  );
  const { rows } = await sql<{ hash: Uint8Array; at: Date }>`
    select hash, at from access_log where tenant_id = ${t} and seq = ${end}`.execute(db);
  return { hash: Buffer.from(rows[0]!.hash), at: rows[0]!.at };
}

async function timed(n: number, fn: (i: number) => Promise<unknown>) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const pct = (p: number) => round(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!);
  return { p50_ms: pct(0.5), p99_ms: pct(0.99), n };
}

for (const engine of benchEngines()) {
  const { database, cleanup } = await openBenchDatabase(engine, 'access_log', 5, 'on');
  try {
    const db = database.db;
    const deps = { db, config: loadConfig({}) };
    const t = (
      await asSystem(() => createTenant(deps, { name: 'Bench Audit', businessRegistrationNumber: randomBrn(), locale: 'ko-KR' }))
    ).id;

    // The fill, as the tables' owner: rows and chain made by the database's own functions.
    const base = new Date(Date.now() - SPAN_DAYS * 86_400_000);
    const stepMs = Math.floor((SPAN_DAYS * 86_400_000 - 3_600_000) / ROWS);
    const filled = performance.now();
    let last = { hash: Buffer.alloc(32), at: base };
    await asOwner(async () => {
      await sql.raw(ROW_FUNCTION).execute(db);
      for (let start = 0; start < ROWS; start += CHUNK) {
        last = await fillChunk(db, t, start, Math.min(ROWS, start + CHUNK), last.hash, base, stepMs);
      }
      await sql`insert into access_log_chain (tenant_id, last_seq, last_hash, last_at) values (${t}, ${ROWS}, ${last.hash}, ${last.at})`.execute(
        db,
      );
    });
    const fillSeconds = (performance.now() - filled) / 1000;
    await database.analyze();
    print({ engine, rows: ROWS, op: 'fill', seconds: round(fillSeconds), rows_per_s: Math.round(ROWS / fillSeconds) });

    const at = (fraction: number) => new Date(base.getTime() + fraction * SPAN_DAYS * 86_400_000);
    const seqAt = (fraction: number) => String(Math.max(2, Math.floor(fraction * ROWS)));
    const week = { from: at(0.5).toISOString(), to: at(0.5 + 7 / SPAN_DAYS).toISOString() };
    const op = (i: number) => `opr_${String((i * 7) % OPERATORS).padStart(2, '0')}`;
    const member = (i: number) => `mbr_${((i * 7919 + 13) * 7919) % MEMBERS}`;
    const searches: [string, (i: number) => Record<string, string | number>][] = [
      ['all: first page', () => ({})],
      ['all: deep page', (i) => ({ cursor: seqAt(0.2 + (i % 10) / 20) })],
      ['operator: first page', (i) => ({ operatorId: op(i) })],
      ['operator: deep page', (i) => ({ operatorId: op(i), cursor: seqAt(0.3 + (i % 10) / 20) })],
      ['member: first page', (i) => ({ memberId: member(i) })],
      ['member (1% of rows): first page', () => ({ memberId: 'mbr_hot' })],
      ['member (1% of rows): deep page', (i) => ({ memberId: 'mbr_hot', cursor: seqAt(0.3 + (i % 10) / 20) })],
      ['period (a week): first page', () => ({ ...week })],
      ['period (a week): deep page', () => ({ ...week, cursor: seqAt(0.5 + 3.5 / SPAN_DAYS) })],
      [
        'period (a year): deep page',
        (i) => ({ from: at(0.25).toISOString(), to: at(0.75).toISOString(), cursor: seqAt(0.4 + (i % 10) / 100) }),
      ],
      ['operator + period (a week)', (i) => ({ operatorId: op(i), ...week })],
      ['action download: first page', () => ({ action: 'download' })],
      ['action download: deep page', (i) => ({ action: 'download', cursor: seqAt(0.3 + (i % 10) / 20) })],
      ['member + action', (i) => ({ memberId: member(i), action: 'view' })],
    ];
    for (const [name, query] of searches) {
      let found = 0;
      const r = await withTenant(t, () =>
        timed(ITERATIONS, async (i) => {
          const q = { limit: 50, ...query(i) } as Parameters<typeof searchAccessLog>[2];
          found = (await searchAccessLog(deps, t, q)).items.length;
        }),
      );
      print({ engine, rows: ROWS, search: name, limit: 50, items: found, ...r });
    }

    const verified = performance.now();
    const v = await withTenant(t, () => verifyAccessLog(deps, t));
    const verifySeconds = (performance.now() - verified) / 1000;
    if (!v.ok || v.rows !== ROWS) throw new Error(`the benchmark's chain does not verify: ${JSON.stringify(v)}`);
    print({ engine, rows: ROWS, op: 'verify', seconds: round(verifySeconds), rows_per_s: Math.round(ROWS / verifySeconds) });

    const appends = await withTenant(t, () =>
      timed(ITERATIONS * 3, (i) =>
        recordAccess(db, t, {
          operatorId: op(i),
          ip: '203.0.113.5',
          action: 'unmask',
          memberIds: [member(i)],
          fields: ['phone'],
          reason: 'benchmark append',
        }),
      ),
    );
    print({ engine, rows: ROWS, op: 'append (recordAccess)', ...appends });

    const month = at(0.5).toISOString().slice(0, 7);
    const report = await withTenant(t, () => timed(3, () => monthlyReport(deps, t, month)));
    print({ engine, rows: ROWS, op: `monthly report (${month})`, ...report });
  } finally {
    await cleanup();
  }
}
