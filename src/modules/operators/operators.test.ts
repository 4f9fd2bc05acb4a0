import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { bearer, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { accountPasswordChecks } from '../../platform/passwords.ts';
import { totpCode } from './operator-totp.rules.ts';

// Operators end to end over HTTP: invitation, password rules, TOTP enrolment and sign-in, replay,
// recovery codes, sessions (cookie attributes, rotation, idle and absolute limits, logout
// everywhere, suspension), CSRF, permissions, step-up, the last owner, the access-change log.

let now = new Date('2026-12-03T01:00:00Z');
const clock: Clock = { now: () => new Date(now) };
let app: FastifyInstance;
let deps: Deps;
before(async () => {
  ({ app, deps } = await testApp({ clock }));
});
after(() => app.close());

const ORIGIN = 'http://localhost:80';
const PASSWORD = 'moa-console-장미-2026';
let emails = 0;
const email = () => `op${++emails}.${Date.now().toString(36)}@moacafe.kr`;

type Browser = { cookie?: string };
/** A request as the console's browser sends it: same origin, JSON, the session cookie. */
async function send(b: Browser, method: string, url: string, payload?: unknown, extra: Record<string, string> = {}) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: { origin: ORIGIN, ...(b.cookie ? { cookie: b.cookie } : {}), ...extra },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  const set = res.headers['set-cookie'];
  const value = Array.isArray(set) ? set[0] : set;
  if (value) {
    const m = /^__Host-moa_operator=([^;]*)/.exec(value);
    b.cookie = m?.[1] ? `__Host-moa_operator=${m[1]}` : undefined;
  }
  return res;
}

async function invite(t: TestTenant, role: string, address = email(), storeIds: string[] | null = null) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/operators/invitations',
    headers: bearer(t.keys.server),
    payload: { email: address, name: '김민지', role, storeIds },
  });
  assert.equal(res.statusCode, 201, res.body);
  return { ...res.json(), email: address } as { token: string; acceptUrl: string; email: string; id: string };
}

/** An operator who accepted an invitation and enrolled TOTP: signed in, with the secret and codes. */
async function enrolled(t: TestTenant, role = 'owner', storeIds: string[] | null = null) {
  const inv = await invite(t, role, email(), storeIds);
  const b: Browser = {};
  assert.equal((await send(b, 'POST', `/auth/invitations/${inv.token}/accept`, { password: PASSWORD })).statusCode, 200);
  const start = await send(b, 'POST', '/auth/enrol/totp');
  assert.equal(start.statusCode, 200, start.body);
  const { secret } = start.json();
  const confirm = await send(b, 'POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, now) });
  assert.equal(confirm.statusCode, 200, confirm.body);
  return { b, secret: secret as string, email: inv.email, recoveryCodes: confirm.json().recoveryCodes as string[] };
}

/** The next 30-second step (a TOTP code is good once per step). */
const nextStep = () => {
  now = new Date(now.getTime() + 30_000);
};

test('an invitation: single use, bound to the e-mail, 72 hours; accepting sets a password, a factor comes before anything else', async () => {
  const t = await newTenant(deps);
  const inv = await invite(t, 'owner');
  assert.match(inv.acceptUrl, /\/login#invitation=inv_/);
  const shown = await app.inject({ url: `/auth/invitations/${inv.token}` });
  assert.equal(shown.json().email, inv.email);

  const b: Browser = {};
  const weak = await send(b, 'POST', `/auth/invitations/${inv.token}/accept`, { password: 'password123' });
  assert.equal(weak.statusCode, 422);
  assert.equal(weak.json().details.reason, 'breached');
  assert.equal(
    (await send(b, 'POST', `/auth/invitations/${inv.token}/accept`, { password: 'short' })).json().details.reason,
    'too_short',
  );

  const accepted = await send(b, 'POST', `/auth/invitations/${inv.token}/accept`, { password: PASSWORD });
  assert.equal(accepted.statusCode, 200);
  assert.equal(accepted.json().stage, 'enrol');
  const cookie = String(accepted.headers['set-cookie']);
  for (const attr of ['__Host-moa_operator=ops_', 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Strict'])
    assert.ok(cookie.includes(attr), cookie);

  // Enrolment only: the API answers what is due.
  const early = await send(b, 'GET', '/v1/operators');
  assert.equal(early.statusCode, 401);
  assert.equal(early.json().code, 'SECOND_FACTOR_REQUIRED');
  assert.equal(early.json().details.stage, 'enrol');

  const again = await send({}, 'POST', `/auth/invitations/${inv.token}/accept`, { password: PASSWORD });
  assert.equal(again.statusCode, 410);
  assert.equal(again.json().details.reason, 'accepted');

  const late = await invite(t, 'cs');
  now = new Date(now.getTime() + 72 * 3_600_000 + 1);
  assert.equal(
    (await send({}, 'POST', `/auth/invitations/${late.token}/accept`, { password: PASSWORD })).json().details.reason,
    'expired',
  );
  // An expired invitation frees the e-mail for a new one.
  await invite(t, 'cs', late.email);
});

test('TOTP: enrolment signs in with a new session id; each code is accepted once; recovery codes are single use and regenerating voids them', async () => {
  const t = await newTenant(deps);
  const inv = await invite(t, 'owner');
  const b: Browser = {};
  await send(b, 'POST', `/auth/invitations/${inv.token}/accept`, { password: PASSWORD });
  const enrolCookie = b.cookie;
  const { secret, uri, qrSvg } = (await send(b, 'POST', '/auth/enrol/totp')).json();
  assert.match(uri, /^otpauth:\/\/totp\/.*secret=[A-Z2-7]{32}.*algorithm=SHA1&digits=6&period=30/);
  assert.match(qrSvg, /^<svg/);
  assert.equal((await send(b, 'POST', '/auth/enrol/totp/confirm', { code: '000000' })).statusCode, 401);
  const confirmed = await send(b, 'POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, now) });
  assert.equal(confirmed.json().stage, 'full');
  const codes: string[] = confirmed.json().recoveryCodes;
  assert.equal(codes.length, 10);
  assert.notEqual(b.cookie, enrolCookie, 'a new session id');
  assert.equal((await send({ cookie: enrolCookie }, 'GET', '/auth/session')).statusCode, 401, 'the old id is void');
  assert.equal((await send(b, 'GET', '/v1/operators')).statusCode, 200);

  // Sign in again within the same 30-second step: the enrolment's code is used up.
  const c: Browser = {};
  assert.equal((await send(c, 'POST', '/auth/login', { email: inv.email, password: PASSWORD })).json().stage, 'password');
  const replay = await send(c, 'POST', '/auth/second-factor', { method: 'totp', code: totpCode(secret, now) });
  assert.equal(replay.statusCode, 401);
  assert.equal(replay.json().code, 'INVALID_CREDENTIALS');
  nextStep();
  const code = totpCode(secret, now);
  assert.equal((await send(c, 'POST', '/auth/second-factor', { method: 'totp', code })).json().stage, 'full');
  // The same code in parallel from two other browsers: at most one wins.
  const d: Browser = {};
  const e: Browser = {};
  await send(d, 'POST', '/auth/login', { email: inv.email, password: PASSWORD });
  await send(e, 'POST', '/auth/login', { email: inv.email, password: PASSWORD });
  nextStep();
  const fresh = totpCode(secret, now);
  const both = await Promise.all([d, e].map((x) => send(x, 'POST', '/auth/second-factor', { method: 'totp', code: fresh })));
  assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 401]);

  // Recovery codes.
  const r: Browser = {};
  await send(r, 'POST', '/auth/login', { email: inv.email, password: PASSWORD });
  assert.equal((await send(r, 'POST', '/auth/second-factor', { method: 'recovery_code', code: codes[0] })).statusCode, 200);
  const r2: Browser = {};
  await send(r2, 'POST', '/auth/login', { email: inv.email, password: PASSWORD });
  assert.equal(
    (await send(r2, 'POST', '/auth/second-factor', { method: 'recovery_code', code: codes[0] })).statusCode,
    401,
    'used',
  );
  assert.equal((await send(r, 'GET', '/auth/session')).json().recoveryCodesLeft, 9);
  const renewed = await send(r, 'POST', '/auth/recovery-codes');
  assert.equal(renewed.statusCode, 200);
  const r3: Browser = {};
  await send(r3, 'POST', '/auth/login', { email: inv.email, password: PASSWORD });
  assert.equal(
    (await send(r3, 'POST', '/auth/second-factor', { method: 'recovery_code', code: codes[1] })).statusCode,
    401,
    'voided',
  );
  assert.equal(
    (await send(r3, 'POST', '/auth/second-factor', { method: 'recovery_code', code: renewed.json().recoveryCodes[0] }))
      .statusCode,
    200,
  );
});

const count = (rs: LightMyRequestResponse[], status: number) => rs.filter((r) => r.statusCode === status).length;

test('50 parallel wrong passwords: at most 5 checks; locked and wrong answer alike; an unknown e-mail answers the same', async () => {
  const t = await newTenant(deps);
  const { email: address } = await enrolled(t);
  const checks = accountPasswordChecks();
  const rs = await Promise.all(
    Array.from({ length: 50 }, (_, i) => send({}, 'POST', '/auth/login', { email: address, password: `wrong-${i}-${PASSWORD}` })),
  );
  assert.equal(accountPasswordChecks() - checks, 5, 'checks of the real hash');
  // Beyond the per-credential window (20 a minute) the rate limit answers 429; everything else is one answer.
  assert.equal(count(rs, 401) + count(rs, 429), 50);
  const bodies = new Set(rs.filter((r) => r.statusCode === 401).map((r) => `${r.json().code} ${r.json().detail}`));
  assert.deepEqual([...bodies], ['INVALID_CREDENTIALS The e-mail or the password is wrong.']);
  now = new Date(now.getTime() + 61_000);
  const right = await send({}, 'POST', '/auth/login', { email: address, password: PASSWORD });
  assert.equal(right.statusCode, 401, 'locked: the right password answers as a wrong one');
  assert.equal(right.json().detail, 'The e-mail or the password is wrong.');
  const unknown = await send({}, 'POST', '/auth/login', { email: `nobody.${Date.now()}@moacafe.kr`, password: PASSWORD });
  assert.equal(`${unknown.statusCode} ${unknown.json().detail}`, `401 ${right.json().detail}`);
  now = new Date(now.getTime() + 15 * 60_000);
  assert.equal(
    (await send({}, 'POST', '/auth/login', { email: address, password: PASSWORD })).statusCode,
    200,
    'the lock ran out',
  );
});

test('50 parallel wrong TOTP codes: at most 5 are checked, the right one then fails too; the code counter is separate from the password one', async () => {
  const t = await newTenant(deps);
  const { email: address, secret } = await enrolled(t);
  now = new Date(now.getTime() + 61_000);
  const b: Browser = {};
  await send(b, 'POST', '/auth/login', { email: address, password: PASSWORD });
  const right = totpCode(secret, now);
  const wrongs = Array.from({ length: 50 }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'));
  const rs = await Promise.all(
    wrongs.map((code) => send({ cookie: b.cookie }, 'POST', '/auth/second-factor', { method: 'totp', code })),
  );
  assert.equal(count(rs, 200), 0);
  const attempts = await sql<{ claimed: number; locked: boolean }>`
    select claimed, locked_until is not null as locked from secret_attempt where kind = 'operator_totp'
    and subject = (select id from operator where email_hash = (select email_hash from operator_invitation order by created_at desc limit 1))`.execute(
    deps.db,
  );
  assert.equal(attempts.rows[0]?.claimed, 5);
  assert.equal(attempts.rows[0]?.locked, true);
  // Past the rate window the lock still holds: the right code answers as a wrong one.
  now = new Date(now.getTime() + 61_000);
  await send(b, 'POST', '/auth/login', { email: address, password: PASSWORD });
  const locked = await send(b, 'POST', '/auth/second-factor', { method: 'totp', code: totpCode(secret, now) });
  assert.equal(`${locked.statusCode} ${locked.json().code}`, '401 INVALID_CREDENTIALS');
  // The password counter is untouched: the password still signs in (a new step, still locked for codes).
  assert.equal((await send({}, 'POST', '/auth/login', { email: address, password: PASSWORD })).statusCode, 200);
});

test('sessions: idle timeout (the brand’s), absolute 12 hours, logout, log out everywhere, suspension ends every session at once', async () => {
  const t = await newTenant(deps);
  const a = await enrolled(t);
  // Idle: 30 minutes by default.
  now = new Date(now.getTime() + 29 * 60_000);
  assert.equal((await send(a.b, 'GET', '/auth/session')).statusCode, 200);
  now = new Date(now.getTime() + 30 * 60_000 + 1);
  assert.equal((await send(a.b, 'GET', '/auth/session')).statusCode, 401, 'idle for 30 minutes');

  const signIn = async () => {
    nextStep();
    const b: Browser = {};
    await send(b, 'POST', '/auth/login', { email: a.email, password: PASSWORD });
    assert.equal(
      (await send(b, 'POST', '/auth/second-factor', { method: 'totp', code: totpCode(a.secret, now) })).statusCode,
      200,
    );
    return b;
  };
  // Absolute: 12 hours however busy.
  const busy = await signIn();
  for (let h = 0; h < 12; h++) {
    now = new Date(now.getTime() + 25 * 60_000);
    await send(busy, 'GET', '/auth/session');
  }
  now = new Date(now.getTime() + 60 * 60_000);
  for (let i = 0; i < 3; i++) {
    now = new Date(now.getTime() + 20 * 60_000);
    await send(busy, 'GET', '/auth/session');
  }
  assert.equal((await send(busy, 'GET', '/auth/session')).statusCode, 401, 'past 12 hours');

  const one = await signIn();
  const two = await signIn();
  assert.equal((await send(one, 'POST', '/auth/logout')).statusCode, 204);
  assert.equal((await send(one, 'GET', '/auth/session')).statusCode, 401);
  assert.equal((await send(two, 'GET', '/auth/session')).statusCode, 200);
  const three = await signIn();
  assert.equal((await send(two, 'POST', '/auth/logout-everywhere')).statusCode, 204);
  assert.equal((await send(three, 'GET', '/auth/session')).statusCode, 401, 'every session');

  // Suspension by another owner: the operator's sessions end, sign-in says suspended.
  const victim = await enrolled(t, 'cs');
  const owner = await signIn();
  const me = (await send(victim.b, 'GET', '/auth/session')).json().operator.id;
  const suspended = await send(owner, 'POST', `/v1/operators/${me}/suspend`, {});
  assert.equal(suspended.statusCode, 200, suspended.body);
  assert.equal((await send(victim.b, 'GET', '/auth/session')).statusCode, 401);
  const login = await send({}, 'POST', '/auth/login', { email: victim.email, password: PASSWORD });
  assert.equal(login.json().code, 'OPERATOR_SUSPENDED');
});

test('CSRF: a state-changing request with the cookie from another origin, without an Origin, or as a form is refused', async () => {
  const t = await newTenant(deps);
  const a = await enrolled(t);
  const payload = { email: email(), name: '이서준', role: 'cs' };
  for (const headers of [
    { origin: 'https://evil.example' },
    { origin: '' },
    { 'content-type': 'application/x-www-form-urlencoded' },
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/operators/invitations',
      headers: { origin: ORIGIN, cookie: a.b.cookie!, ...headers },
      payload: headers['content-type'] ? new URLSearchParams(payload).toString() : payload,
    });
    assert.equal(res.statusCode, 403, JSON.stringify(headers));
    assert.equal(res.json().code, 'CSRF_REJECTED');
  }
  assert.equal((await send(a.b, 'POST', '/v1/operators/invitations', payload)).statusCode, 201);
  // Reads need no Origin.
  assert.equal((await app.inject({ url: '/v1/operators', headers: { cookie: a.b.cookie! } })).statusCode, 200);
  // Login is checked the same way.
  const res = await app.inject({ method: 'POST', url: '/auth/login', headers: { origin: 'https://evil.example' }, payload: {} });
  assert.equal(res.json().code, 'CSRF_REJECTED');
});

test('permissions: a CS agent is refused operator admin; step-up within 15 minutes for access changes; the last owner stays', async () => {
  const t = await newTenant(deps);
  const owner = await enrolled(t);
  const cs = await enrolled(t, 'cs');
  const forbidden = await send(cs.b, 'GET', '/v1/operators');
  assert.equal(forbidden.statusCode, 403);
  assert.equal(forbidden.json().details.permission, 'operators:admin');
  assert.deepEqual((await send(cs.b, 'GET', '/auth/session')).json().permissions.includes('operators:admin'), false);

  const ownerId = (await send(owner.b, 'GET', '/auth/session')).json().operator.id;
  const csId = (await send(cs.b, 'GET', '/auth/session')).json().operator.id;
  now = new Date(now.getTime() + 16 * 60_000);
  await send(owner.b, 'GET', '/auth/session');
  const stale = await send(owner.b, 'PUT', `/v1/operators/${csId}/role`, { role: 'marketer' });
  assert.equal(stale.statusCode, 403);
  assert.equal(stale.json().code, 'STEP_UP_REQUIRED');
  const up = await send(owner.b, 'POST', '/auth/step-up', { method: 'totp', code: totpCode(owner.secret, now) });
  assert.equal(up.statusCode, 200, up.body);
  assert.equal((await send(owner.b, 'PUT', `/v1/operators/${csId}/role`, { role: 'marketer' })).json().role, 'marketer');

  const last = await send(owner.b, 'PUT', `/v1/operators/${ownerId}/role`, { role: 'admin' });
  assert.equal(last.statusCode, 409);
  assert.equal(last.json().code, 'LAST_OWNER');
  assert.equal((await send(owner.b, 'DELETE', `/v1/operators/${ownerId}`)).json().code, 'LAST_OWNER');

  // A custom role limited to reading members.
  const role = await send(owner.b, 'POST', '/v1/operators/roles', { name: '회원 조회', permissions: ['members:read'] });
  assert.equal(role.statusCode, 201, role.body);
  assert.equal((await send(owner.b, 'PUT', `/v1/operators/${csId}/role`, { role: role.json().id })).statusCode, 200);
  assert.deepEqual((await send(cs.b, 'GET', '/auth/session')).json().permissions, ['members:read']);
  assert.equal((await send(owner.b, 'DELETE', `/v1/operators/roles/${role.json().id}`)).statusCode, 409, 'in use');

  // Every change is in the append-only log.
  const log = (await send(owner.b, 'GET', '/v1/operators/access-changes')).json().items.map((c: { change: string }) => c.change);
  assert.deepEqual(log.slice(0, 4), ['role_changed', 'role_created', 'role_changed', 'granted']);
  await assert.rejects(sql`update operator_access_change set change = 'x'`.execute(deps.db), /permission denied/);
  const review = (await send(owner.b, 'GET', '/v1/operators/access-review')).json().items;
  assert.ok(
    review.some(
      (l: { operatorId: string; permission: string; lastUsedAt: string | null }) =>
        l.operatorId === ownerId && l.permission === 'operators:admin',
    ),
  );
});

test('a role limited to stores: a store it names must be one of them, a write must name one; the stores must exist', async () => {
  const t = await newTenant(deps);
  const store = async (code: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/stores',
      headers: bearer(t.keys.server),
      payload: { code, name: `${code} 점` },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  const [gangnam, jamsil] = [await store('gangnam'), await store('jamsil')];
  const ops = await enrolled(t, 'store_ops', [gangnam]);
  assert.deepEqual((await send(ops.b, 'GET', '/auth/session')).json().operator.storeIds, [gangnam]);

  const own = await send(ops.b, 'PATCH', `/v1/stores/${gangnam}`, { name: '강남역점' });
  assert.equal(own.statusCode, 200, own.body);
  const other = await send(ops.b, 'PATCH', `/v1/stores/${jamsil}`, { name: '잠실 폐점' });
  assert.equal(other.statusCode, 403);
  assert.deepEqual(other.json().details, { rule: 'store_outside', storeIds: [jamsil], allowedStoreIds: [gangnam] });
  const manager = { loginId: 'gangnam.lead', name: '이점장', password: 'store-lead-2026-강남' };
  const both = await send(ops.b, 'POST', '/v1/store-managers', { ...manager, storeIds: [gangnam, jamsil] });
  assert.equal(both.json().details.rule, 'store_outside');
  assert.equal((await send(ops.b, 'POST', '/v1/store-managers', { ...manager, storeIds: [gangnam] })).statusCode, 201);
  // Creating a store acts for the whole brand.
  const brandWide = await send(ops.b, 'POST', '/v1/stores', { code: 'hongdae', name: '홍대점' });
  assert.equal(brandWide.statusCode, 403);
  assert.equal(brandWide.json().details.rule, 'store_required');
  // Reads that name no store stay open; nothing was written by the refusals.
  const stores = (await send(ops.b, 'GET', '/v1/stores')).json().items as { id: string; name: string }[];
  assert.deepEqual(stores.map((s) => s.name).sort(), ['jamsil 점', '강남역점']);

  // The stores of a grant are the tenant's, at least one, never an owner's.
  const unknown = await app.inject({
    method: 'POST',
    url: '/v1/operators/invitations',
    headers: bearer(t.keys.server),
    payload: { email: email(), name: '박매장', role: 'store_ops', storeIds: ['sto_nowhere'] },
  });
  assert.equal(`${unknown.statusCode} ${unknown.json().code}`, '404 NOT_FOUND');
  assert.deepEqual(unknown.json().details.storeIds, ['sto_nowhere']);
  for (const [role, storeIds] of [
    ['owner', [gangnam]],
    ['store_ops', []],
  ] as const) {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/operators/invitations',
      headers: bearer(t.keys.server),
      payload: { email: email(), name: '박매장', role, storeIds },
    });
    assert.equal(`${bad.statusCode} ${bad.json().errors?.[0]?.field}`, '400 storeIds', bad.body);
  }
});

test('plain HTTP works on loopback only: elsewhere sign-in asks for HTTPS', async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { host: 'console.moacafe.kr', origin: 'http://console.moacafe.kr' },
    payload: { email: 'a@b.kr', password: 'x' },
  });
  assert.equal(res.statusCode, 403);
  assert.equal(res.json().code, 'TLS_REQUIRED');
});
