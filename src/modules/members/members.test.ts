import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, grantUnits, newMembers, newTenant, sandboxVerified, type TestTenant, testApp } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { piiFor } from '../../platform/pii.ts';
import { SANDBOX_PEOPLE, type VerificationPurpose } from '../identity/index.ts';
import { login, memberGrade, setMemberGrade } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let engine: string;

before(async () => {
  ({ app, deps, engine } = await testApp());
});
after(() => app.close());

const CONSENTS = { terms: true, privacy: true, age14: true, marketing: { sms: true, email: false, push: false } };
const PASSWORD = 'coffee&cake24';

async function brand(units = 50): Promise<TestTenant> {
  const t = await newTenant(deps, 'Members Brand');
  if (units) await grantUnits(app, t.tenant.id, units);
  return t;
}

const verified = (
  t: TestTenant,
  purpose: VerificationPurpose,
  person: Record<string, string> = { person: 'hong' },
  minAge = 14,
) => sandboxVerified(app, deps, t.tenant.id, purpose, person, minAge);

const signUp = (t: TestTenant, body: Record<string, unknown>) =>
  app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { password: PASSWORD, consents: CONSENTS, ...body },
  });

const loginHttp = (t: TestTenant, loginId: string, password = PASSWORD) =>
  app.inject({ method: 'POST', url: '/v1/members/login', headers: bearer(t.keys.app), payload: { loginId, password } });

const asMember = (t: TestTenant, token: string) => ({ ...bearer(t.keys.app), 'x-member-token': token });

test('verified sign-up: identity from the verification, masked; the verification is used once; login and /me', async () => {
  const t = await brand();
  const vid = await verified(t, 'signup');
  const res = await signUp(t, { loginId: 'Hong.GD', verificationId: vid, email: 'gildong@example.com', name: 'Someone Else' });
  assert.equal(res.statusCode, 201, res.body);
  const m = res.json();
  assert.deepEqual(
    [m.loginId, m.verified, m.name, m.phone, m.email, m.birthYear, m.gender, m.status],
    ['hong.gd', true, '홍*동', '010-****-5678', 'gi*****@example.com', 1990, 'male', 'active'],
    'the name comes from the verification, not the request',
  );
  assert.ok(m.consents.terms && m.consents.marketing.sms && m.consents.marketing.email === null);

  const reuse = await signUp(t, { loginId: 'another1', verificationId: vid });
  assert.equal(reuse.json().code, 'VERIFICATION_NOT_USABLE');
  assert.equal(reuse.json().details.why, 'used');

  const session = await loginHttp(t, 'HONG.gd');
  assert.equal(session.statusCode, 200, session.body);
  const { token } = session.json();
  assert.match(token, /^mst_/);
  const me = await app.inject({ url: '/v1/me', headers: asMember(t, token) });
  assert.equal(me.json().id, m.id);
  assert.equal((await app.inject({ url: '/v1/me', headers: bearer(t.keys.app) })).statusCode, 401);
  const other = await brand(0);
  assert.equal(
    (await app.inject({ url: '/v1/me', headers: asMember(other, token) })).statusCode,
    401,
    'a token works only for its tenant',
  );
  assert.equal((await app.inject({ url: `/v1/members/${m.id}`, headers: bearer(t.keys.server) })).json().loginId, 'hong.gd');
});

test('one account per person: concurrent sign-ups of one person make exactly one member', async () => {
  const t = await brand();
  const vids = await Promise.all(Array.from({ length: 6 }, () => verified(t, 'signup', { person: 'kim' })));
  const results = await Promise.all(vids.map((vid, i) => signUp(t, { loginId: `kim${i}x`, verificationId: vid })));
  const codes = results.map((r) => (r.statusCode === 201 ? 'created' : r.json().code)).sort();
  assert.deepEqual(
    codes,
    ['ALREADY_MEMBER', 'ALREADY_MEMBER', 'ALREADY_MEMBER', 'ALREADY_MEMBER', 'ALREADY_MEMBER', 'created'],
    engine,
  );
  const count = await deps.db
    .selectFrom('member')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', t.tenant.id)
    .executeTakeFirstOrThrow();
  assert.equal(Number(count.n), 1);
  // The rejected sign-ups did not use their verifications.
  const used = await deps.db
    .selectFrom('identity_verification')
    .select('id')
    .where('tenant_id', '=', t.tenant.id)
    .where('used_at', 'is not', null)
    .execute();
  assert.equal(used.length, 1);
});

test('sign-up rules: consents, login ID, password, age, and verification required by policy', async () => {
  const t = await brand();
  const noTerms = await signUp(t, {
    loginId: 'park01',
    verificationId: await verified(t, 'signup', { person: 'park' }),
    consents: { ...CONSENTS, terms: false, age14: false },
  });
  assert.equal(noTerms.json().code, 'CONSENT_REQUIRED');
  assert.deepEqual(noTerms.json().details.missing, ['terms', 'age14']);
  const badId = await signUp(t, { loginId: '1park', verificationId: 'idv_x' });
  assert.deepEqual([badId.statusCode, badId.json().errors[0].field], [400, 'loginId']);
  for (const [password, code] of [
    ['short1!', 'password_length'],
    ['onlyletters', 'password_weak'],
    ['park01park01!', 'password_contains_id'],
  ]) {
    const weak = await signUp(t, { loginId: 'park01', password, verificationId: 'idv_x' });
    assert.equal(weak.json().errors?.[0].code, code, password);
  }
  // A verification made without an age limit still meets the brand's minimum age at sign-up.
  const child = await signUp(t, { loginId: 'child01', verificationId: await verified(t, 'signup', { person: 'lee-child' }, 0) });
  assert.deepEqual([child.json().code, child.json().details.minAge], ['UNDER_AGE', 14]);

  const unverified = await signUp(t, { loginId: 'nover01', name: '정하늘', phone: '010-1111-2222' });
  assert.equal(unverified.json().code, 'VERIFICATION_REQUIRED');
  const wrongPurpose = await signUp(t, {
    loginId: 'purpose1',
    verificationId: await verified(t, 'find_id', { person: 'smith' }),
  });
  assert.deepEqual([wrongPurpose.json().code, wrongPurpose.json().details.why], ['VERIFICATION_NOT_USABLE', 'purpose']);
});

test('unverified sign-up where allowed: one account per name + phone; self-declared age checked', async () => {
  const t = await brand();
  const policy = (await app.inject({ url: '/v1/members/policy', headers: bearer(t.keys.server) })).json();
  assert.deepEqual(policy, {
    allowUnverified: false,
    minAge: 14,
    rejoinBlockDays: 30,
    dormancyDays: 365,
    purgeAfterDays: 30,
    maxFailedLogins: 5,
    lockoutMinutes: 15,
    emailConfirmUrl: null,
  });
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/members/policy',
    headers: bearer(t.keys.server),
    payload: { ...policy, allowUnverified: true },
  });
  assert.equal(put.json().allowUnverified, true);

  const first = await signUp(t, { loginId: 'haneul', name: '정하늘', phone: '010-1111-2222' });
  assert.equal(first.statusCode, 201, first.body);
  assert.equal(first.json().verified, false);
  const same = await signUp(t, { loginId: 'haneul2', name: '정 하늘', phone: '01011112222' });
  assert.equal(same.json().code, 'ALREADY_MEMBER');
  const taken = await signUp(t, { loginId: 'HANEUL', name: '다른사람', phone: '010-3333-4444' });
  assert.equal(taken.json().code, 'LOGIN_ID_TAKEN');
  const young = await signUp(t, { loginId: 'young1', name: '어린이', phone: '010-5555-6666', birthDate: '2015-01-01' });
  assert.equal(young.json().code, 'UNDER_AGE');
  assert.equal((await signUp(t, { loginId: 'nophone', name: '무번호' })).json().errors[0].field, 'phone');
});

test('lockout: five wrong passwords lock for the policy minutes, the same answer for unknown IDs, a reset lifts it', async () => {
  const t = await brand();
  await signUp(t, { loginId: 'lockme', verificationId: await verified(t, 'signup', { person: 'smith' }) });
  for (let i = 0; i < 5; i++) assert.equal((await loginHttp(t, 'lockme', 'wrong-pass1')).json().code, 'INVALID_CREDENTIALS');
  const locked = await loginHttp(t, 'lockme');
  assert.deepEqual([locked.statusCode, locked.json().code], [423, 'LOGIN_LOCKED'], 'locked even with the right password');
  assert.ok(locked.json().details.retryAfterSeconds > 800);
  assert.equal((await loginHttp(t, 'nobody')).json().code, 'INVALID_CREDENTIALS');

  // The lock opens by itself after the lockout.
  const later = { ...deps, clock: fixedClock(new Date(Date.now() + 16 * 60_000)) };
  assert.ok((await login(later, t.tenant.id, { loginId: 'lockme', password: PASSWORD })).token);

  // Lock it again; a password reset through verification lifts it and ends every session.
  const before = (await loginHttp(t, 'lockme')).json().token;
  assert.ok(before === undefined || typeof before === 'string');
  for (let i = 0; i < 5; i++) await loginHttp(t, 'lockme', 'wrong-pass1');
  assert.equal((await loginHttp(t, 'lockme')).json().code, 'LOGIN_LOCKED');
  const reset = await app.inject({
    method: 'POST',
    url: '/v1/members/password-reset',
    headers: bearer(t.keys.app),
    payload: { verificationId: await verified(t, 'reset_password', { person: 'smith' }), newPassword: 'new-coffee-77' },
  });
  assert.equal(reset.statusCode, 204, reset.body);
  assert.equal((await loginHttp(t, 'lockme')).json().code, 'INVALID_CREDENTIALS', 'the old password is gone');
  assert.equal((await loginHttp(t, 'lockme', 'new-coffee-77')).statusCode, 200);
});

test('sessions: listed, revoked one by one, all ended by a password reset', async () => {
  const t = await brand();
  await signUp(t, { loginId: 'sessions1', verificationId: await verified(t, 'signup', { person: 'park' }) });
  const a = (await loginHttp(t, 'sessions1')).json().token;
  const b = (await loginHttp(t, 'sessions1')).json().token;
  const list = (await app.inject({ url: '/v1/me/sessions', headers: asMember(t, a) })).json().items;
  assert.equal(list.length, 2);
  const other = list.find((s: { current: boolean }) => !s.current);
  assert.equal(
    (await app.inject({ method: 'DELETE', url: `/v1/me/sessions/${other.id}`, headers: asMember(t, a) })).statusCode,
    204,
  );
  assert.equal(
    (await app.inject({ url: '/v1/me', headers: asMember(t, b) })).statusCode,
    401,
    'the revoked session no longer works',
  );
  assert.equal((await app.inject({ url: '/v1/me', headers: asMember(t, a) })).statusCode, 200);

  await app.inject({
    method: 'POST',
    url: '/v1/members/password-reset',
    headers: bearer(t.keys.app),
    payload: { verificationId: await verified(t, 'reset_password', { person: 'park' }), newPassword: 'fresh-start-99' },
  });
  assert.equal((await app.inject({ url: '/v1/me', headers: asMember(t, a) })).statusCode, 401);
});

test('find ID and change phone through verification; another person cannot change the phone', async () => {
  const t = await brand();
  await signUp(t, { loginId: 'gildong.h', verificationId: await verified(t, 'signup', { person: 'hong' }) });
  const found = await app.inject({
    method: 'POST',
    url: '/v1/members/find-id',
    headers: bearer(t.keys.app),
    payload: { verificationId: await verified(t, 'find_id', { person: 'hong' }) },
  });
  assert.equal(found.json().loginId, 'gi*******');
  const nobody = await app.inject({
    method: 'POST',
    url: '/v1/members/find-id',
    headers: bearer(t.keys.app),
    payload: { verificationId: await verified(t, 'find_id', { person: 'kim' }) },
  });
  assert.equal(nobody.statusCode, 404);

  const token = (await loginHttp(t, 'gildong.h')).json().token;
  // The same person (the same CI) on a new number.
  const newPhone = await app.inject({
    method: 'POST',
    url: '/v1/me/phone',
    headers: asMember(t, token),
    payload: { verificationId: await verified(t, 'change_phone', { person: 'hong-new-phone' }) },
  });
  assert.equal(newPhone.json().phone, '010-****-5432');
  const stranger = await app.inject({
    method: 'POST',
    url: '/v1/me/phone',
    headers: asMember(t, token),
    payload: { verificationId: await verified(t, 'change_phone', { person: 'kim' }) },
  });
  assert.deepEqual([stranger.json().code, stranger.json().details.why], ['VERIFICATION_NOT_USABLE', 'other_person']);
});

test('takeover: a victim’s name, birth date and gender typed into the sandbox page reset nothing and find nothing', async () => {
  const t = await brand();
  const details = { name: '윤지호', birthDate: '1993-04-04', gender: 'male', nationality: 'domestic', carrier: 'SKT' };
  const joined = await signUp(t, {
    loginId: 'jiho.yoon',
    verificationId: await verified(t, 'signup', { person: 'new', ...details }),
  });
  assert.equal(joined.statusCode, 201, joined.body);

  // The attack: start a reset_password verification, type the victim's details, complete, reset.
  const reset = await app.inject({
    method: 'POST',
    url: '/v1/members/password-reset',
    headers: bearer(t.keys.app),
    payload: {
      verificationId: await verified(t, 'reset_password', { person: 'new', ...details, phone: '010-7777-8888' }),
      newPassword: 'attacker-owns-1',
    },
  });
  assert.deepEqual([reset.statusCode, reset.json().code], [404, 'NOT_FOUND']);
  assert.equal((await loginHttp(t, 'jiho.yoon', 'attacker-owns-1')).json().code, 'INVALID_CREDENTIALS');
  assert.equal((await loginHttp(t, 'jiho.yoon')).statusCode, 200, 'the victim’s password still works');
  const found = await app.inject({
    method: 'POST',
    url: '/v1/members/find-id',
    headers: bearer(t.keys.app),
    payload: { verificationId: await verified(t, 'find_id', { person: 'new', ...details }) },
  });
  assert.equal(found.statusCode, 404);

  // A member opened without verification (an import) is found by name and phone: typed ones never match.
  const [imported] = await newMembers(deps, t.tenant.id, 1);
  const row = await deps.db
    .selectFrom('member')
    .select(['login_id', 'profile_sealed'])
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', imported!)
    .executeTakeFirstOrThrow();
  const profile = piiFor(deps.masterKey).open<{ name: string; phone: string }>(row.profile_sealed!);
  const typed = { person: 'new', ...details, name: profile.name, phone: profile.phone };
  const resetImported = await app.inject({
    method: 'POST',
    url: '/v1/members/password-reset',
    headers: bearer(t.keys.app),
    payload: { verificationId: await verified(t, 'reset_password', typed), newPassword: 'attacker-owns-2' },
  });
  assert.deepEqual([resetImported.statusCode, resetImported.json().code], [404, 'NOT_FOUND']);
  assert.equal((await loginHttp(t, row.login_id!, 'attacker-owns-2')).json().code, 'INVALID_CREDENTIALS');
});

test('no plaintext personal data in the member tables', async () => {
  const t = await brand();
  await signUp(t, {
    loginId: 'plain01',
    verificationId: await verified(t, 'signup', { person: 'hong' }),
    email: 'secret.mail@example.com',
  });
  const hong = SANDBOX_PEOPLE.find((p) => p.key === 'hong')!;
  const rows = await sql<{ row: string }>`select m::text as row from member m where tenant_id = ${t.tenant.id}`.execute(deps.db);
  assert.equal(rows.rows.length, 1);
  for (const secret of [hong.name, hong.phone!, 'secret.mail', '1990-01-01'])
    assert.ok(!rows.rows[0]!.row.includes(secret), secret);
});

test('inside a transaction a member’s status and grade are read once, and a change in it is seen; outside, every call reads', async () => {
  const t = await newTenant(deps, 'Memo Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  let reads = 0;
  const db = deps.db.withPlugin({
    transformQuery: (a) => {
      if (a.node.kind === 'SelectQueryNode') reads++;
      return a.node;
    },
    transformResult: async (a) => a.result,
  });
  await withTransaction(db, async (trx) => {
    assert.deepEqual(await memberGrade({ db: trx }, t.tenant.id, m!), { grade: null, status: 'active' });
    await memberGrade({ db: trx }, t.tenant.id, m!);
    assert.equal(reads, 1);
    await setMemberGrade({ db: trx }, t.tenant.id, m!, 'GOLD');
    assert.equal((await memberGrade({ db: trx }, t.tenant.id, m!)).grade, 'GOLD');
    assert.equal(reads, 2);
  });
  await memberGrade({ db }, t.tenant.id, m!);
  await memberGrade({ db }, t.tenant.id, m!);
  assert.equal(reads, 4);
});
