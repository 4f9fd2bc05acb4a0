// npm run bench:import — members imported from CSV per second, through the product's import
// (streamed CSV, chunks of 1,000 committed with their checkpoint, every profile sealed and hashed).
//
//   BENCH_ROWS     rows to import (default 1,000,000); one in a hundred is bad and must be rejected
//   engines        pglite (file-backed, temporary folder); postgres when DATABASE_URL or
//                  TEST_DATABASE_URL is set (a scratch database, dropped afterwards); BENCH_ENGINES narrows it
//
// Prints one JSON line per engine and checks that the member table holds exactly what was imported.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { importMembers } from '../src/modules/members/index.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createLogger } from '../src/platform/logger.ts';
import { benchEngines, openBenchDatabase } from './engines.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);

/** The CSV, generated as it is read: 1,000 lines per chunk. */
async function* csv(rows: number): AsyncGenerator<string> {
  yield 'login_id,name,phone,birth_date,email,grade,consent_terms,consent_privacy,consent_marketing_sms,joined_at\n';
  for (let start = 0; start < rows; start += 1_000) {
    let chunk = '';
    for (let i = start; i < Math.min(rows, start + 1_000); i++) {
      const phone = i % 100 === 99 ? '02-000-0000' : `010${String(10_000_000 + i).padStart(8, '0')}`;
      const year = 1960 + (i % 45);
      chunk += `member${i},"김 ${i}",${phone},${year}-0${1 + (i % 9)}-1${i % 10},m${i}@example.com,${i % 5 === 0 ? 'GOLD' : 'BASIC'},Y,Y,${i % 2 ? 'Y' : 'N'},2020-01-01\n`;
    }
    yield chunk;
  }
}

for (const engine of benchEngines()) {
  // As the tables' owner, without row-level security: this one measures the import alone.
  const { database, cleanup } = await openBenchDatabase(engine, 'import', 4, 'off');
  try {
    const deps = {
      db: database.db,
      config: loadConfig({}),
      clock: systemClock,
      masterKey: randomBytes(32),
      log: createLogger('silent'),
    };
    const tenant = await createTenant(deps, { name: 'Import Bench', businessRegistrationNumber: '1168200276', locale: 'ko-KR' });
    const started = performance.now();
    const summary = await importMembers(deps, tenant.id, 'bench', csv(ROWS), { fileName: 'generated.csv' });
    const seconds = (performance.now() - started) / 1000;
    const count = await database.db
      .selectFrom('member')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirstOrThrow();
    const exact =
      Number(count.n) === summary.imported &&
      summary.imported + summary.rejected === ROWS &&
      summary.rejected === Math.floor(ROWS / 100);
    process.stdout.write(
      `${JSON.stringify({
        engine,
        rows: ROWS,
        imported: summary.imported,
        rejected: summary.rejected,
        seconds: Math.round(seconds * 10) / 10,
        rows_per_s: Math.round(ROWS / seconds),
        rss_mb: Math.round(process.memoryUsage().rss / 1e6),
        exact,
      })}\n`,
    );
    if (!exact) throw new Error('the member table does not hold exactly what the import reports');
  } finally {
    await cleanup();
  }
}
