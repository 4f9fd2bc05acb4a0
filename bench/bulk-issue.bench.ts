// npm run bench:bulk-issue — a coupon issued in bulk to a list of 1,000,000 members, through the
// product's bulk issue (the list streamed as CSV, 1,000 members per committed chunk, set-based).
// The members are written straight into the member table first (the import has its own benchmark).
// Afterwards it checks that every member holds exactly one coupon and the counter agrees.
//
//   BENCH_ROWS     members in the list (default 1,000,000)
//   BENCH_ENGINES  pglite and/or postgres (as the other benchmarks)
import { sql } from 'kysely';
import { bulkIssue, createDefinition, ZCouponRules } from '../src/modules/coupons/index.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import { benchEngines } from './engines.ts';
import { placeDatabase, withDeps } from './product.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const memberId = (i: number) => `mbr_bench${String(i).padStart(8, '0')}`;

/** The list, generated as it is read. */
async function* list(): AsyncGenerator<string> {
  yield 'member_id\n';
  for (let start = 0; start < ROWS; start += 1_000) {
    let chunk = '';
    for (let i = start; i < Math.min(ROWS, start + 1_000); i++) chunk += `${memberId(i)}\n`;
    yield chunk;
  }
}

for (const engine of benchEngines()) {
  const where = await placeDatabase(engine, 'bulk');
  try {
    await withDeps(where.open, async (deps) => {
      const tenant = await createTenant(deps, { name: 'Bulk Bench', businessRegistrationNumber: '2208162517', locale: 'ko-KR' });
      for (let start = 0; start < ROWS; start += 100_000) {
        await sql`insert into member (tenant_id, id, consents)
          select ${tenant.id}, 'mbr_bench' || lpad(g::text, 8, '0'), '{}'::jsonb from generate_series(${start}::int, ${Math.min(ROWS, start + 100_000) - 1}::int) g`.execute(
          deps.db,
        );
      }
      // As a live database would have: statistics that know the member table is large.
      await sql`analyze member`.execute(deps.db);
      const definition = await createDefinition(deps, tenant.id, {
        name: '전 회원 감사 쿠폰',
        rules: ZCouponRules.parse({ benefit: { kind: 'amount', amount: 2_000 }, validity: { kind: 'days', days: 30 } }),
        downloadable: false,
        autoIssue: null,
        autoIssueGrade: null,
        autoIssueDaysBefore: 0,
        totalQuantity: null,
        perMemberLimit: 1,
        issueFrom: null,
        issueUntil: null,
      });
      const started = performance.now();
      const summary = await bulkIssue(deps, tenant.id, definition.id, 'bench', list());
      const seconds = (performance.now() - started) / 1000;
      const stored = await deps.db
        .selectFrom('coupon')
        .select(({ fn }) => [fn.countAll<number>().as('n'), fn.count<number>('member_id').distinct().as('members')])
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow();
      const counter = await deps.db
        .selectFrom('coupon_definition')
        .select('issued')
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow();
      const exact =
        summary.issued === ROWS &&
        Number(stored.n) === ROWS &&
        Number(stored.members) === ROWS &&
        Number(counter.issued) === ROWS;
      print({
        engine,
        members: ROWS,
        issued: summary.issued,
        rejected: summary.rejected,
        seconds: Math.round(seconds * 10) / 10,
        issues_per_s: Math.round(ROWS / seconds),
        rss_mb: Math.round(process.memoryUsage().rss / 1e6),
        exact,
      });
      if (!exact) process.exitCode = 1;
    });
  } finally {
    await where.cleanup();
  }
}
