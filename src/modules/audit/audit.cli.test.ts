import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { asTableOwner } from '../../../test/access-log-fixtures.ts';
import { newTenant, testConfig } from '../../../test/helpers.ts';
import { localDate } from '../../platform/clock.ts';
import { createDatabase, type Database } from '../../platform/db.ts';
import { migrate } from '../../platform/migrate.ts';
import { recordAccess } from './index.ts';

// moa audit verify | export as a real process: on the run's PostgreSQL database, or on an embedded
// data folder of its own.

const root = resolve(import.meta.dirname, '../../..');
const serverDb = process.env.MOA_TEST_DB_URL;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function moa(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const proc = spawn(process.execPath, ['bin/moa.js', ...args], { cwd: root, env: { PATH: process.env.PATH, ...env } });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  return new Promise((r) => proc.on('exit', (code) => r({ code, out, err })));
}

test('moa audit verify prints OK with the head, or the broken seq with exit status 1; moa audit export writes the CSV', async () => {
  let database: Database;
  let env: Record<string, string>;
  if (serverDb) {
    database = await createDatabase({ databaseUrl: serverDb, poolSize: 2, unscoped: 'system' });
    env = { DATABASE_URL: serverDb, MOA_ALLOW_SANDBOX: 'true', LOG_LEVEL: 'silent' };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'moa-audit-cli-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    database = await createDatabase({ dataDir: dir, unscoped: 'system' });
    await migrate(database);
    env = { DATA_DIR: dir, LOG_LEVEL: 'silent' };
  }
  const deps = { db: database.db, config: testConfig() };
  const [a, b] = [(await newTenant(deps, 'CLI Audit A')).tenant, (await newTenant(deps, 'CLI Audit B')).tenant];
  const base = { operatorId: 'opr_cli', ip: '192.0.2.7', memberIds: ['mbr_1'], fields: ['name' as const] };
  await recordAccess(deps.db, a.id, { ...base, action: 'view' });
  await recordAccess(deps.db, a.id, { ...base, action: 'unmask', reason: '문의 확인, "긴급"' });
  await recordAccess(deps.db, a.id, {
    ...base,
    action: 'export',
    memberIds: [],
    subjectCount: 42,
    query: { grade: 'GOLD' },
    reason: '=SUM(A1) 정산',
  });
  await recordAccess(deps.db, b.id, { ...base, action: 'view' });
  const head = await deps.db.selectFrom('access_log_chain').selectAll().where('tenant_id', '=', a.id).executeTakeFirstOrThrow();
  // The embedded folder is one process's at a time.
  if (!serverDb) await database.close();

  const ok = await moa(['audit', 'verify', '--tenant', a.id], env);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(
    ok.out,
    new RegExp(`^${a.id}  OK  3 rows \\(seq 1-3\\)  head 3 ${Buffer.from(head.last_hash).toString('hex')}$`, 'm'),
  );
  assert.match(ok.out, /^1 tenant: 1 OK, 0 broken$/m);

  const csv = await moa(['audit', 'export', '--tenant', a.id], env);
  assert.equal(csv.code, 0, csv.err);
  const lines = csv.out.split('\r\n');
  assert.equal(
    lines[0],
    '\uFEFFseq,at,operator_id,ip,action,member_ids,subject_count,query,fields,reason,request_id,prev_hash,hash',
  );
  assert.equal(lines.length, 5, 'a header, 3 rows and the final line break');
  assert.match(lines[2]!, /^2,.*,opr_cli,192\.0\.2\.7,unmask,mbr_1,1,,name,"문의 확인, ""긴급""",,[0-9a-f]{64},[0-9a-f]{64}$/);
  assert.match(lines[3]!, /^3,.*,export,,42,"\{""grade"":""GOLD""\}",name,'=SUM\(A1\) 정산,,/);
  assert.ok(lines[3]!.endsWith(Buffer.from(head.last_hash).toString('hex')));

  const today = localDate(new Date(), a.timeZone);
  const todays = await moa(['audit', 'export', '--tenant', a.id, '--from', today, '--to', today], env);
  assert.equal(todays.out.split('\r\n').length, 5, todays.err);
  const none = await moa(['audit', 'export', '--tenant', a.id, '--from', '2099-01-01'], env);
  assert.equal(none.out.split('\r\n').length, 2);
  const bad = await moa(['audit', 'export', '--tenant', a.id, '--from', 'yesterday'], env);
  assert.deepEqual([bad.code, /from: a date \(YYYY-MM-DD\) or an instant/.test(bad.err)], [2, true]);

  if (!serverDb) database = await createDatabase({ dataDir: env.DATA_DIR!, unscoped: 'system' });
  await asTableOwner(() =>
    sql`update access_log set operator_id = 'opr_nobody' where tenant_id = ${a.id} and seq = 2`.execute(database.db),
  );
  await database.close();
  const broken = await moa(['audit', 'verify', '--tenant', a.id], env);
  assert.equal(broken.code, 1);
  assert.match(broken.out, new RegExp(`^${a.id}  BROKEN  at seq 2 \\(edited\\): `, 'm'));
  assert.match(broken.out, /^1 tenant: 0 OK, 1 broken$/m);

  if (!serverDb) {
    // Every tenant of the folder: A broken, B fine.
    const all = await moa(['audit', 'verify'], env);
    assert.equal(all.code, 1);
    assert.match(all.out, new RegExp(`^${b.id}  OK  1 row \\(`, 'm'));
    assert.match(all.out, /^2 tenants: 1 OK, 1 broken$/m);
  }
});
