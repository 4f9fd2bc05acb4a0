import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'kysely';
import { asTableOwner, writeAccessAt } from '../../../test/access-log-fixtures.ts';
import { newTenant, testConfig, testDeps } from '../../../test/helpers.ts';
import { ConfigError, loadConfig } from '../../config.ts';
import { asSystem } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { purgeAccessLogs, recordAccess, verifyAccessLog } from './index.ts';

// Retention (audit.retention): rows past the retention, never younger than 2 years, leave through
// the purge function only; the anchor keeps the kept rows verifiable.

let deps: Deps;
before(async () => {
  deps = await testDeps();
});

const DAY = 86_400_000;
const yearsAgo = (years: number, plusDays = 0) => {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return new Date(d.getTime() + plusDays * DAY);
};

/** seq 1: 3 years and a day old; 2: 2 years and 30 days; 3: 2 years less 30 days; 4: 1 year; 5: now. */
async function history(): Promise<string> {
  const t = (await newTenant(deps, 'Retention Brand')).tenant.id;
  for (const at of [yearsAgo(3, -1), yearsAgo(2, -30), yearsAgo(2, 30), yearsAgo(1)]) await writeAccessAt(deps.db, t, at);
  await recordAccess(deps.db, t, {
    operatorId: 'opr_1',
    ip: '192.0.2.1',
    action: 'view',
    memberIds: ['mbr_1'],
    fields: ['name'],
  });
  return t;
}

const seqs = async (t: string) =>
  (await deps.db.selectFrom('access_log').select('seq').where('tenant_id', '=', t).orderBy('seq').execute()).map((r) => r.seq);

test('the job removes the rows older than 2 years; the anchor keeps verify passing, and a kept row edited still fails it', async () => {
  const t = await history();
  assert.deepEqual(await purgeAccessLogs(deps, { tenantId: t }), { purged: 2, tenants: 1 });
  assert.deepEqual(await seqs(t), [3, 4, 5]);
  const indexed = await deps.db.selectFrom('access_log_member').select('seq').where('tenant_id', '=', t).orderBy('seq').execute();
  assert.deepEqual(
    indexed.map((r) => r.seq),
    [3, 4, 5],
    'the member index goes with its rows',
  );
  const v = await verifyAccessLog(deps, t);
  assert.deepEqual([v.ok, v.rows, v.firstSeq, v.lastSeq, v.anchor?.seq], [true, 3, 3, 5, 2], JSON.stringify(v));
  assert.deepEqual(await purgeAccessLogs(deps, { tenantId: t }), { purged: 0, tenants: 0 }, 'nothing more is due');
  // New rows chain on after a purge.
  await recordAccess(deps.db, t, {
    operatorId: 'opr_1',
    ip: '192.0.2.1',
    action: 'view',
    memberIds: ['mbr_2'],
    fields: ['name'],
  });
  assert.equal((await verifyAccessLog(deps, t)).ok, true);

  await asTableOwner(() =>
    sql`update access_log set operator_id = 'opr_other' where tenant_id = ${t} and seq = 4`.execute(deps.db),
  );
  const edited = await verifyAccessLog(deps, t);
  assert.deepEqual([edited.ok, edited.broken?.seq, edited.broken?.problem], [false, 4, 'edited']);
});

test('the first kept row deleted after a purge is reported missing, not hidden by the anchor', async () => {
  const t = await history();
  await purgeAccessLogs(deps, { tenantId: t });
  await asTableOwner(() => sql`delete from access_log where tenant_id = ${t} and seq = 3`.execute(deps.db));
  const v = await verifyAccessLog(deps, t);
  assert.deepEqual([v.ok, v.broken?.seq, v.broken?.problem], [false, 3, 'missing']);
});

test('the retention is configurable but never under 2 years: 36 months keeps more, 12 months is refused, the database keeps 2 years whatever it is asked', async () => {
  const t = await history();
  const longer = { ...deps, config: testConfig({ ACCESS_LOG_RETENTION_MONTHS: '36' }) };
  assert.equal((await purgeAccessLogs(longer, { tenantId: t })).purged, 1);
  assert.deepEqual(await seqs(t), [2, 3, 4, 5]);
  assert.throws(() => loadConfig({ ACCESS_LOG_RETENTION_MONTHS: '12' }), ConfigError);
  // The purge function itself, asked for a day, in batches of one row: only rows older than 2 years go.
  const purge = () =>
    asSystem(() => sql<{ n: number }>`select moa_access_log_purge(${t}, interval '1 day', 1) as n`.execute(deps.db));
  assert.equal(Number((await purge()).rows[0]!.n), 1);
  assert.equal(Number((await purge()).rows[0]!.n), 0);
  assert.deepEqual(await seqs(t), [3, 4, 5]);
  assert.deepEqual([(await verifyAccessLog(deps, t)).ok, (await verifyAccessLog(deps, t)).anchor?.seq], [true, 2]);
});

test('old rows that do not verify are kept as evidence: the job fails for that tenant and removes nothing of it', async () => {
  const t = await history();
  await asTableOwner(() => sql`update access_log set ip = '198.51.100.1' where tenant_id = ${t} and seq = 1`.execute(deps.db));
  await assert.rejects(purgeAccessLogs(deps, { tenantId: t }), /chain of .* is broken/);
  assert.deepEqual(await seqs(t), [1, 2, 3, 4, 5]);
  const v = await verifyAccessLog(deps, t);
  assert.deepEqual([v.broken?.seq, v.broken?.problem, v.anchor], [1, 'edited', null]);
});
