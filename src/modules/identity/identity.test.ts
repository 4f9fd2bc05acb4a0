import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, newTenant, platform, type TestTenant, testApp } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { piiFor } from '../../platform/pii.ts';
import { accountHistory } from '../ledger/index.ts';
import { noMessages } from '../messages/index.ts';
import { sandboxPayments } from '../prepaid/index.ts';
import { sandboxCi } from './identity.rules.ts';
import { SANDBOX_PEOPLE } from './identity.sandbox.ts';
import { completeVerification, settleDueVerifications, startVerification, VERIFICATION_TTL_SECONDS } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let engine: string;

before(async () => {
  ({ app, deps, engine } = await testApp());
});
after(() => app.close());

const RETURN_URL = 'https://shop.example.com/verify/done';
let seq = 0;

async function tenantWithUnits(units: number): Promise<TestTenant> {
  const t = await newTenant(deps, 'Identity Brand');
  if (units > 0) {
    const res = await app.inject({
      method: 'POST',
      url: `/platform/v1/tenants/${t.tenant.id}/verification-units`,
      headers: { ...platform, 'idempotency-key': `grant-${++seq}` },
      payload: { units, memo: 'test pack' },
    });
    assert.equal(res.statusCode, 200, res.body);
  }
  return t;
}

async function start(t: TestTenant, body: Record<string, unknown> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/identity/verifications',
    headers: bearer(t.keys.app),
    payload: { purpose: 'signup', returnUrl: RETURN_URL, ...body },
  });
}

/** What a tester's browser does on the sandbox page: post the form. */
function submit(requestNo: string, form: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: `/sandbox/identity/${requestNo}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
}

const complete = (t: TestTenant, id: string) =>
  app.inject({ method: 'POST', url: `/v1/identity/verifications/${id}/complete`, headers: bearer(t.keys.server) });

const units = async (t: TestTenant) => (await app.inject({ url: '/v1/identity/units', headers: bearer(t.keys.server) })).json();

async function verifyAs(t: TestTenant, form: Record<string, string>, body: Record<string, unknown> = {}) {
  const started = await start(t, body);
  assert.equal(started.statusCode, 201, started.body);
  const v = started.json();
  const page = await submit(v.requestNo, form);
  assert.equal(page.statusCode, 303, page.body);
  const back = new URL(page.headers.location as string);
  assert.equal(back.origin + back.pathname, RETURN_URL);
  assert.deepEqual([back.searchParams.get('verificationId'), back.searchParams.get('requestNo')], [v.id, v.requestNo]);
  const done = await complete(t, v.id);
  assert.equal(done.statusCode, 200, done.body);
  return done.json();
}

test('a live verification: the sandbox page, the server-to-server result, one unit used', async () => {
  const t = await tenantWithUnits(5);
  const started = await start(t);
  assert.equal(started.statusCode, 201, started.body);
  const v = started.json();
  assert.equal(v.status, 'pending');
  assert.equal(v.mode, 'live');
  assert.equal(v.redirectUrl, `/sandbox/identity/${v.requestNo}`);
  assert.deepEqual(await units(t), { ...(await units(t)), available: 4, held: 1, used: 0 });

  const page = await app.inject({ url: v.redirectUrl });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  assert.ok(page.body.includes('홍길동') && page.body.includes('Identity Brand'));
  assert.match(page.headers['content-security-policy'] as string, /form-action 'self' https:\/\/shop\.example\.com/);

  // Before the person is done, completing leaves it pending.
  assert.equal((await complete(t, v.id)).json().status, 'pending');

  assert.equal((await submit(v.requestNo, { person: 'hong', outcome: 'success' })).statusCode, 303);
  const done = (await complete(t, v.id)).json();
  assert.equal(done.status, 'verified');
  assert.equal(done.reason, null);
  assert.equal(done.redirectUrl, null);
  assert.deepEqual(done.identity, {
    name: '홍*동',
    birthYear: 1990,
    age: done.identity.age,
    gender: 'male',
    nationality: 'domestic',
    carrier: 'SKT',
    phone: '010-****-5678',
  });
  assert.ok(done.identity.age >= 36);
  assert.deepEqual(await units(t), { ...(await units(t)), available: 4, held: 0, used: 1, previewVerified: 0 });

  // Completing again, or posting the page again, changes nothing.
  assert.deepEqual((await complete(t, v.id)).json(), done);
  const again = await submit(v.requestNo, { person: 'kim', outcome: 'success' });
  assert.equal(again.statusCode, 409);
  assert.match(again.body, /already used or has expired/);
  assert.equal((await units(t)).used, 1);
  const history = await accountHistory(deps, t.tenant.id, (await units(t)).accountId, { limit: 10 });
  assert.deepEqual(
    history.items.map((e) => [e.code, e.amount, e.pending]),
    [
      ['VERIFICATION_USE', -1, false],
      ['VERIFICATION_RESERVE', -1, true],
      ['VERIFICATION_GRANT', 5, false],
    ],
  );
});

test('every failure mode reaches the caller as its code and costs nothing', async () => {
  const t = await tenantWithUnits(2);
  const failures: [Record<string, string>, string][] = [
    [{ person: 'hong', outcome: 'PHONE_NOT_OWN_NAME' }, 'PHONE_NOT_OWN_NAME'],
    [{ person: 'hong', outcome: 'CORPORATE_PHONE' }, 'CORPORATE_PHONE'],
    [{ person: 'hong', outcome: 'PREPAID_PHONE' }, 'PREPAID_PHONE'],
    [{ person: 'hong', outcome: 'VERIFICATION_CANCELLED' }, 'VERIFICATION_CANCELLED'],
    [{ person: 'hong', outcome: 'VERIFICATION_TIMED_OUT' }, 'VERIFICATION_TIMED_OUT'],
    [{ person: 'hong', outcome: 'PROVIDER_ERROR' }, 'PROVIDER_ERROR'],
    [{ person: 'lee-child', outcome: 'success' }, 'UNDER_AGE'],
  ];
  for (const [form, code] of failures) {
    const v = await verifyAs(t, form);
    assert.deepEqual([v.status, v.reason, v.identity], ['failed', code, null], code);
    const problem = await app.inject({ url: `/problems/${code}` });
    assert.equal(problem.statusCode, 200, `${code} is in the error catalogue`);
  }
  assert.deepEqual(await units(t), { ...(await units(t)), available: 2, held: 0, used: 0 });

  // The minimum age is the caller's: a 10-year-old passes an age check of 0 and fails one of 14.
  assert.equal(
    (await verifyAs(t, { person: 'lee-child', outcome: 'success' }, { purpose: 'age_check', minAge: 0 })).status,
    'verified',
  );
  assert.equal((await units(t)).used, 1);
});

test('no unit left: VERIFICATION_QUOTA_EXHAUSTED before anyone is sent anywhere; preview is free and counted apart', async () => {
  const t = await tenantWithUnits(0);
  const res = await start(t);
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().code, 'VERIFICATION_QUOTA_EXHAUSTED');
  assert.equal(res.json().details.available, 0);
  const rows = await deps.db.selectFrom('identity_verification').select('id').where('tenant_id', '=', t.tenant.id).execute();
  assert.equal(rows.length, 0, 'nothing written');

  const preview = await verifyAs(t, { person: 'kim', outcome: 'success' }, { preview: true });
  assert.deepEqual([preview.mode, preview.status], ['preview', 'verified']);
  assert.deepEqual(await units(t), { ...(await units(t)), available: 0, held: 0, used: 0, previewVerified: 1 });
});

test('concurrent starts never use more units than there are', async () => {
  const t = await tenantWithUnits(3);
  const results = await Promise.all(Array.from({ length: 12 }, () => start(t)));
  const codes = results.map((r) => (r.statusCode === 201 ? 'started' : r.json().code)).sort();
  assert.deepEqual(codes, [...Array(3).fill('started'), ...Array(9).fill('VERIFICATION_QUOTA_EXHAUSTED')].sort(), engine);
  assert.deepEqual(await units(t), { ...(await units(t)), available: 0, held: 3 });
  // Settling them all, concurrently and twice over, uses each held unit exactly once.
  const ids = results.filter((r) => r.statusCode === 201).map((r) => r.json());
  for (const v of ids) await submit(v.requestNo, { person: 'park', outcome: 'success' });
  await Promise.all([...ids, ...ids].map((v) => complete(t, v.id)));
  assert.deepEqual(await units(t), { ...(await units(t)), available: 0, held: 0, used: 3 });
});

test('past the deadline with no answer: timed out, unit released (by a late complete and by the settle job)', async () => {
  const t = await tenantWithUnits(2);
  const clock = fixedClock(new Date());
  const d = { ...deps, clock };
  const a = await startVerification(d, t.tenant.id, {
    purpose: 'signup',
    method: 'phone',
    returnUrl: RETURN_URL,
    minAge: 14,
    preview: false,
  });
  const b = await startVerification(d, t.tenant.id, {
    purpose: 'signup',
    method: 'phone',
    returnUrl: RETURN_URL,
    minAge: 14,
    preview: false,
  });
  assert.equal((await units(t)).held, 2);
  clock.advance((VERIFICATION_TTL_SECONDS + 1) * 1000);
  // The page refuses a late tester, and the result fetched late is a time-out.
  assert.equal((await completeVerification(d, t.tenant.id, a.id)).reason, 'VERIFICATION_TIMED_OUT');
  assert.ok((await settleDueVerifications(d)) >= 1);
  assert.equal(
    (await app.inject({ url: `/v1/identity/verifications/${b.id}`, headers: bearer(t.keys.app) })).json().reason,
    'VERIFICATION_TIMED_OUT',
  );
  assert.deepEqual(await units(t), { ...(await units(t)), available: 2, held: 0, used: 0 });
});

test('a new test person: validated on the page; i-PIN proves no phone; the provider issues CI and phone, never derived from what is typed', async () => {
  const t = await tenantWithUnits(5);
  const started = (await start(t, { method: 'ipin' })).json();
  const bad = await submit(started.requestNo, {
    person: 'new',
    outcome: 'success',
    name: '최유나',
    birthDate: '1999-02-30',
    gender: 'female',
    nationality: 'domestic',
    carrier: 'KT',
  });
  assert.equal(bad.statusCode, 422);
  assert.match(bad.body, /birthDate/);
  const form = {
    person: 'new',
    outcome: 'success',
    name: '최유나',
    birthDate: '1999-02-28',
    gender: 'female',
    nationality: 'domestic',
    carrier: 'KT',
    phone: '010-9999-8888',
  };
  assert.equal((await submit(started.requestNo, form)).statusCode, 303);
  const v = (await complete(t, started.id)).json();
  assert.deepEqual(
    [v.status, v.method, v.identity.name, v.identity.carrier, v.identity.phone],
    ['verified', 'ipin', '최*나', null, null],
  );

  // The same details typed again are a new person: another CI, and a phone the provider issued.
  const again = await verifyAs(t, form);
  assert.equal(again.status, 'verified');
  assert.notEqual(again.identity.phone, '010-****-8888', 'a typed phone is not vouched for');
  const hashes = await deps.db
    .selectFrom('identity_verification')
    .select('ci_hash')
    .where('id', 'in', [v.id, again.id])
    .execute();
  assert.equal(new Set(hashes.map((h) => h.ci_hash)).size, 2, 'typed details never give a CI');
  const sealed = await deps.db
    .selectFrom('identity_verification')
    .select('identity_sealed')
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', again.id)
    .executeTakeFirstOrThrow();
  const person = piiFor(deps.masterKey).open<{ ci: string; di: string }>(sealed.identity_sealed!);
  assert.equal(person.ci.length, 88);
  assert.notEqual(person.ci, sandboxCi({ name: '최유나', birthDate: '1999-02-28', gender: 'female', nationality: 'domestic' }));

  // The old way to type a person is gone.
  const custom = (await start(t)).json();
  assert.equal((await submit(custom.requestNo, { ...form, person: 'custom' })).statusCode, 422);
});

test('with IDENTITY_PROVIDER other than sandbox the sandbox page is not mounted (404)', async () => {
  const portoneLike = {
    name: 'portone',
    pageFor: (n: string) => `https://provider.example/${n}`,
    fetchResult: async () => ({ status: 'pending' as const }),
  };
  const other = await testApp({
    providers: {
      identity: portoneLike,
      social: {},
      payment: sandboxPayments,
      messages: noMessages,
      mail: { name: 'unused', send: async () => {} },
    },
  });
  try {
    const t = await newTenant(other.deps, 'Real Identity Brand');
    await other.app.inject({
      method: 'POST',
      url: `/platform/v1/tenants/${t.tenant.id}/verification-units`,
      headers: { ...platform, 'idempotency-key': `g-${t.tenant.id}` },
      payload: { units: 1 },
    });
    const v = (
      await other.app.inject({
        method: 'POST',
        url: '/v1/identity/verifications',
        headers: bearer(t.keys.app),
        payload: { purpose: 'signup', method: 'phone', returnUrl: RETURN_URL },
      })
    ).json();
    assert.equal(v.redirectUrl, `https://provider.example/${v.requestNo}`);
    assert.equal((await other.app.inject({ url: `/sandbox/identity/${v.requestNo}` })).statusCode, 404);
    const post = await other.app.inject({
      method: 'POST',
      url: `/sandbox/identity/${v.requestNo}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'outcome=success&person=hong',
    });
    assert.equal(post.statusCode, 404);
    assert.equal(
      (
        await other.app.inject({
          method: 'POST',
          url: `/v1/identity/verifications/${v.id}/complete`,
          headers: bearer(t.keys.app),
        })
      ).json().status,
      'pending',
    );
  } finally {
    await other.app.close();
  }
});

test('no plaintext personal data in the database after a verification', async () => {
  const t = await tenantWithUnits(1);
  const v = await verifyAs(t, { person: 'hong', outcome: 'success' });
  const hong = SANDBOX_PEOPLE.find((p) => p.key === 'hong')!;
  const ci = sandboxCi(hong);
  const rows = await sql<{ row: string }>`
    select v::text as row from identity_verification v where tenant_id = ${t.tenant.id}
    union all
    select s::text from identity_sandbox_result s where request_no = ${v.requestNo}`.execute(deps.db);
  assert.equal(rows.rows.length, 2);
  for (const { row } of rows.rows) {
    for (const secret of [hong.name, hong.phone!, ci, '1990-01-01'])
      assert.ok(!row.includes(secret), `no ${secret} in ${row.slice(0, 80)}…`);
  }
});

test('the sandbox page: unknown numbers are 404, a bad outcome re-shows the form, keys are tenant-scoped', async () => {
  assert.equal((await app.inject({ url: '/sandbox/identity/nope' })).statusCode, 404);
  const t = await tenantWithUnits(1);
  const other = await tenantWithUnits(0);
  const v = (await start(t)).json();
  const bad = await submit(v.requestNo, { person: 'hong', outcome: 'MAYBE' });
  assert.equal(bad.statusCode, 422);
  assert.match(bad.body, /outcome/);
  assert.equal(
    (await app.inject({ url: `/v1/identity/verifications/${v.id}`, headers: bearer(other.keys.app) })).statusCode,
    404,
  );
  assert.equal((await complete(other, v.id)).statusCode, 404);
  assert.equal(
    (await app.inject({ url: '/v1/identity/units', headers: bearer(t.keys.app) })).statusCode,
    403,
    'units are for the server key',
  );
  const badStart = await start(t, { returnUrl: 'javascript:alert(1)' });
  assert.equal(badStart.statusCode, 400);
  const grant = await app.inject({
    method: 'POST',
    url: `/platform/v1/tenants/${t.tenant.id}/verification-units`,
    headers: platform,
    payload: { units: 1 },
  });
  assert.equal(grant.json().code, 'IDEMPOTENCY_KEY_REQUIRED');
});
