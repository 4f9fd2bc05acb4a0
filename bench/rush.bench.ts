// npm run bench:rush — a first-come coupon rush over HTTP: a downloadable coupon limited to 2,000,
// one per member, claimed by 10,000 members in 50,000 attempts from many concurrent clients
// (POST /v1/me/coupons/downloads, each with its member's session and its own Idempotency-Key).
// Afterwards the database is checked: exactly 2,000 coupons, no member above its limit, and the
// definition's counter equal to the coupons that exist. Prints one JSON line per engine.
//
//   BENCH_ENGINES   pglite and/or postgres (default: pglite, plus postgres when DATABASE_URL or
//                   TEST_DATABASE_URL names a server; a scratch database is created and dropped)
//   BENCH_CLIENTS   concurrent clients (default 256)
//   BENCH_PROCESSES server processes sharing the database, requests spread over them in turn
//                   (default 2 on postgres; pglite is one process)
//   BENCH_MEMBERS, BENCH_ATTEMPTS, BENCH_QUANTITY   (default 10,000, 50,000, 2,000)
import { randomBytes } from 'node:crypto';
import { createDefinition, ZCouponRules } from '../src/modules/coupons/index.ts';
import { openSession } from '../src/modules/members/member-sessions.service.ts';
import { benchEngines } from './engines.ts';
import { runLoad } from './load.ts';
import { benchBrand, placeDatabase, startProduct, withDeps } from './product.ts';

const clients = Number(process.env.BENCH_CLIENTS ?? 256);
const memberCount = Number(process.env.BENCH_MEMBERS ?? 10_000);
const attempts = Number(process.env.BENCH_ATTEMPTS ?? 50_000);
const quantity = Number(process.env.BENCH_QUANTITY ?? 2_000);
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

for (const engine of benchEngines()) {
  const where = await placeDatabase(engine, 'rush');
  try {
    const setup = await withDeps(where.open, async (deps) => {
      const brand = await benchBrand(deps, memberCount);
      const tokens: string[] = [];
      for (let i = 0; i < brand.memberIds.length; i += 200) {
        tokens.push(
          ...(await Promise.all(
            brand.memberIds.slice(i, i + 200).map(async (id) => (await openSession(deps, brand.tenantId, id, 'bench')).token),
          )),
        );
      }
      const definition = await createDefinition(deps, brand.tenantId, {
        name: '선착순 2,000명 아메리카노',
        rules: ZCouponRules.parse({
          benefit: { kind: 'free_item', productId: 'americano' },
          validity: { kind: 'days', days: 14 },
        }),
        downloadable: true,
        autoIssue: null,
        autoIssueGrade: null,
        autoIssueDaysBefore: 0,
        totalQuantity: quantity,
        perMemberLimit: 1,
        issueFrom: null,
        issueUntil: null,
      });
      return { ...brand, tokens, definitionId: definition.id };
    });

    const processes = engine === 'postgres' ? Number(process.env.BENCH_PROCESSES ?? 2) : 1;
    const servers = await Promise.all(Array.from({ length: processes }, () => startProduct(where.env)));
    const run = randomBytes(4).toString('hex');
    let result;
    try {
      // Each attempt is a random member's: several clients claim for the same member at once.
      const who = Array.from({ length: attempts }, () => Math.floor(Math.random() * setup.tokens.length));
      result = await runLoad({
        url: servers.map((s) => `${s.base}/v1/me/coupons/downloads`),
        method: 'POST',
        headers: (i) => ({
          authorization: `Bearer ${setup.keys.app}`,
          'x-member-token': setup.tokens[who[i]!]!,
          'idempotency-key': `${run}-${i}`,
        }),
        body: () => JSON.stringify({ definitionId: setup.definitionId }),
        clients,
        durationMs: 3_600_000,
        requests: attempts,
        ok: (s) => s === 201 || s === 422,
      });
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }

    const check = await withDeps(where.open, async ({ db }) => {
      const coupons = await db
        .selectFrom('coupon')
        .select(({ fn }) => [fn.countAll<number>().as('n'), fn.count<number>('member_id').distinct().as('members')])
        .where('tenant_id', '=', setup.tenantId)
        .executeTakeFirstOrThrow();
      const top = await db
        .selectFrom('coupon')
        .select(({ fn }) => fn.countAll<number>().as('n'))
        .where('tenant_id', '=', setup.tenantId)
        .groupBy('member_id')
        .orderBy('n', 'desc')
        .limit(1)
        .executeTakeFirst();
      const counter = await db
        .selectFrom('coupon_definition')
        .select('issued')
        .where('tenant_id', '=', setup.tenantId)
        .where('id', '=', setup.definitionId)
        .executeTakeFirstOrThrow();
      return {
        issued: Number(coupons.n),
        members: Number(coupons.members),
        maxPerMember: Number(top?.n ?? 0),
        counter: Number(counter.issued),
      };
    });
    const exact =
      check.issued === Math.min(quantity, memberCount) &&
      check.counter === check.issued &&
      check.maxPerMember <= 1 &&
      (result.statuses[201] ?? 0) === check.issued;
    print({
      engine,
      processes,
      clients,
      members: memberCount,
      attempts,
      quantity,
      issued: check.issued,
      members_with_coupon: check.members,
      max_per_member: check.maxPerMember,
      definition_counter: check.counter,
      answered_201: result.statuses[201] ?? 0,
      answered_422: result.statuses[422] ?? 0,
      errors: result.errors,
      seconds: result.seconds,
      claims_per_s: result.req_per_s,
      p50_ms: result.p50_ms,
      p99_ms: result.p99_ms,
      exact,
    });
    if (!exact) process.exitCode = 1;
  } finally {
    await where.cleanup();
  }
}
