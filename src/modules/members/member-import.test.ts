import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, grantUnits, newTenant, sandboxVerified, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { pointBalance, registerPointHandlers } from '../points/index.ts';
import { getImport, importMembers } from './index.ts';

let app: FastifyInstance;
let deps: Deps;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

async function brand(): Promise<TestTenant> {
  const t = await newTenant(deps, 'Import Brand');
  await grantUnits(app, t.tenant.id, 10);
  return t;
}

const HEADER = 'name,phone,login_id,birth_date,email,grade,consent_terms,consent_privacy,consent_marketing_sms,joined_at';

const put = (t: TestTenant, id: string, csv: string) =>
  app.inject({
    method: 'PUT',
    url: `/v1/members/imports/${id}`,
    headers: { ...bearer(t.keys.server), 'content-type': 'text/csv', 'x-file-name': 'legacy.csv' },
    payload: csv,
  });

const countMembers = async (t: TestTenant) =>
  Number(
    (
      await deps.db
        .selectFrom('member')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', t.tenant.id)
        .executeTakeFirstOrThrow()
    ).n,
  );

test('a CSV import: good rows become members, each bad row is reported with its row number and code', async () => {
  const t = await brand();
  const csv = [
    HEADER,
    '"Hong, Gildong",010-1234-0001,hong.gd,1990-01-01,gd@example.com,GOLD,Y,Y,Y,2019-03-01',
    '김민지,01012340002,minji,1985-07-15,,SILVER,Y,Y,N,',
    '박서연,010-3456-7890,seoyeon,,,,Y,Y,,',
    '이상한,02-123-4567,badphone,,,,Y,Y,,',
    '어린이,010-1234-0005,kid01,2016-05-05,,,Y,Y,,',
    '동명이,010-1234-0006,minji,,,,Y,Y,,',
    '김민지,010-1234-0002,minji2,,,,Y,Y,,',
    '무동의,010-1234-0008,noconsent,,,,N,Y,,',
    '날짜틀림,010-1234-0009,baddate,1999-02-30,,,Y,Y,,',
  ].join('\n');
  const res = await put(t, 'legacy-1', csv);
  assert.equal(res.statusCode, 200, res.body);
  const { startedAt: _s, finishedAt: _f, ...summary } = res.json() as Record<string, unknown>;
  assert.deepEqual(summary, { id: 'legacy-1', status: 'done', fileName: 'legacy.csv', rowsDone: 9, imported: 3, rejected: 6 });
  const rejects = (await app.inject({ url: '/v1/members/imports/legacy-1/rejects', headers: bearer(t.keys.server) })).json();
  assert.deepEqual(
    rejects.items.map((r: { row: number; code: string }) => [r.row, r.code]),
    [
      [4, 'INVALID_PHONE'],
      [5, 'UNDER_AGE'],
      [6, 'LOGIN_ID_TAKEN'],
      [7, 'ALREADY_MEMBER'],
      [8, 'CONSENT_REQUIRED'],
      [9, 'INVALID_DATE'],
    ],
  );
  assert.equal(await countMembers(t), 3);
  const again = await put(t, 'legacy-1', csv);
  assert.deepEqual([again.json().imported, await countMembers(t)], [3, 3], 'a finished import is not run twice');

  // Imported members have no password: a verified reset (same name and phone) sets one and verifies them.
  const login = () =>
    app.inject({
      method: 'POST',
      url: '/v1/members/login',
      headers: bearer(t.keys.app),
      payload: { loginId: 'seoyeon', password: 'first-pass-1' },
    });
  assert.equal((await login()).json().code, 'INVALID_CREDENTIALS');
  // The sandbox test person 박서연 has the same name and phone (a typed person never would: its phone is issued).
  const verificationId = await sandboxVerified(app, deps, t.tenant.id, 'reset_password', { person: 'park' });
  const reset = await app.inject({
    method: 'POST',
    url: '/v1/members/password-reset',
    headers: bearer(t.keys.app),
    payload: { verificationId, newPassword: 'first-pass-1' },
  });
  assert.equal(reset.statusCode, 204, reset.body);
  const ok = await login();
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().member.verified, true);

  const row = (
    await sql<{
      row: string;
    }>`select m::text as row from member m where tenant_id = ${t.tenant.id} and login_id = 'hong.gd'`.execute(deps.db)
  ).rows[0]!.row;
  for (const secret of ['Hong, Gildong', '01012340001', 'gd@example.com', '1990-01-01']) assert.ok(!row.includes(secret), secret);
});

test('an interrupted import resumes after the last committed chunk: every row exactly once', async () => {
  const t = await brand();
  const rows = Array.from({ length: 2_500 }, (_, i) => `회원${i},010${String(50_000_000 + i)},user${i},,,,Y,Y,,`);
  async function* source(breakAfter?: number) {
    yield `${HEADER}\n`;
    for (let i = 0; i < rows.length; i++) {
      if (i === breakAfter) throw new Error('connection lost');
      yield `${rows[i]}\n`;
    }
  }
  await assert.rejects(importMembers(deps, t.tenant.id, 'big-1', source(1_700)), /connection lost/);
  const partial = await getImport(deps, t.tenant.id, 'big-1');
  assert.deepEqual([partial.status, partial.rowsDone, partial.imported], ['running', 1_000, 1_000]);
  assert.equal(await countMembers(t), 1_000);

  const done = await importMembers(deps, t.tenant.id, 'big-1', source());
  assert.deepEqual([done.status, done.rowsDone, done.imported, done.rejected], ['done', 2_500, 2_500, 0]);
  assert.equal(await countMembers(t), 2_500);
});

test('a CSV without the required columns is refused before anything is written', async () => {
  const t = await brand();
  const res = await put(t, 'bad-header', 'name,email\n홍길동,a@b.c\n');
  assert.equal(res.statusCode, 400);
  assert.match(res.json().detail, /login_id, phone/);
  assert.equal(await countMembers(t), 0);
  const wrongType = await app.inject({
    method: 'PUT',
    url: '/v1/members/imports/x1',
    headers: { ...bearer(t.keys.server), 'content-type': 'application/json' },
    payload: '{}',
  });
  assert.deepEqual([wrongType.statusCode, wrongType.json().code], [415, 'UNSUPPORTED_MEDIA_TYPE']);
});

test('opening point lots come with the import: each lot with its own expiry, a bad points cell rejects its row', async () => {
  const t = await brand();
  const csv = [
    'login_id,name,phone,consent_terms,consent_privacy,points',
    'lots01,고객일,010-5555-0001,Y,Y,1000@2030-03-31;500@2030-06-30',
    'lots02,고객이,010-5555-0002,Y,Y,300',
    'lots03,고객삼,010-5555-0003,Y,Y,',
    'lots04,고객사,010-5555-0004,Y,Y,100@2020-01-31',
    'lots05,고객오,010-5555-0005,Y,Y,abc',
  ].join('\n');
  const res = await put(t, 'with-points', csv);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual([res.json().imported, res.json().rejected], [3, 2]);
  const rejects = (await app.inject({ url: '/v1/members/imports/with-points/rejects', headers: bearer(t.keys.server) })).json()
    .items;
  assert.deepEqual(
    rejects.map((r: { row: number; code: string }) => [r.row, r.code]),
    [
      [4, 'INVALID_POINTS'],
      [5, 'INVALID_POINTS'],
    ],
  );

  registerPointHandlers(deps);
  while ((await deps.outbox.runOnce()) > 0);
  const member = async (loginId: string) =>
    (
      await deps.db
        .selectFrom('member')
        .select('id')
        .where('tenant_id', '=', t.tenant.id)
        .where('login_id', '=', loginId)
        .executeTakeFirstOrThrow()
    ).id;
  const lots = async (loginId: string) =>
    (await pointBalance(deps, t.tenant.id, await member(loginId))).lots.map((l) => [
      l.remaining,
      l.expiresAt && new Date(l.expiresAt).toISOString(),
    ]);
  // Usable through the date: expiring when the next day begins in Seoul.
  assert.deepEqual(await lots('lots01'), [
    [1000, '2030-03-31T15:00:00.000Z'],
    [500, '2030-06-30T15:00:00.000Z'],
  ]);
  const [[amount, policyExpiry]] = (await lots('lots02')) as [[number, string | null]];
  assert.equal(amount, 300);
  assert.ok(policyExpiry === null || new Date(policyExpiry) > new Date());
  assert.deepEqual(await lots('lots03'), []);
  // Delivered again (at least once): nothing doubles.
  await deps.db
    .updateTable('outbox')
    .set({ status: 'pending', handlers_done: [] })
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'member.points_imported')
    .execute();
  while ((await deps.outbox.runOnce()) > 0);
  assert.equal((await pointBalance(deps, t.tenant.id, await member('lots01'))).balance, 1_500);
});
