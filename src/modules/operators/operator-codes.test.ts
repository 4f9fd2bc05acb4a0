import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { bearer, newTenant, platform, type TestTenant, testApp, testConfig } from '../../../test/helpers.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { piiFor } from '../../platform/pii.ts';
import { mailboxFor, registerMessageHandlers, sandboxMessagesTo } from '../messages/index.ts';
import { totpCode } from './operator-totp.rules.ts';

// Codes by SMS and AlimTalk (read from the sandbox recorder), their limits (5 attempts, 5 minutes,
// 60 s between sends, daily caps, the lockout counter), the phone, and emergency e-mail recovery
// through a real SMTP server started here and through the sandbox mailbox.

let now = new Date('2026-12-10T01:00:00Z');
const clock: Clock = { now: () => new Date(now) };
const later = (ms: number) => {
  now = new Date(now.getTime() + ms);
};
// Low caps so that a test can reach them: 5 codes a day per phone, 8 per tenant.
const CAPS = { OPERATOR_CODES_PER_PHONE_DAY: '5', OPERATOR_CODES_PER_TENANT_DAY: '8' };

let app: FastifyInstance;
let deps: Deps;
before(async () => {
  ({ app, deps } = await testApp({ clock, config: testConfig(CAPS) }));
  registerMessageHandlers(deps);
});
after(() => app.close());

const ORIGIN = 'http://localhost:80';
const PASSWORD = 'moa-console-장미-2026';
let seq = 0;
const email = () => `codes${++seq}.${Date.now().toString(36)}@moacafe.kr`;
const phone = () => `010${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;

type Browser = { cookie?: string };
async function send(on: FastifyInstance, b: Browser, method: string, url: string, payload?: unknown) {
  const res = await on.inject({
    method: method as 'GET',
    url,
    headers: { origin: ORIGIN, ...(b.cookie ? { cookie: b.cookie } : {}) },
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

type Operator = { b: Browser; secret: string; email: string; id: string };
/** An operator invited by the tenant's server key who accepted and enrolled TOTP: signed in. */
async function enrolled(on: FastifyInstance, t: TestTenant, role = 'owner'): Promise<Operator> {
  const address = email();
  const inv = await on.inject({
    method: 'POST',
    url: '/v1/operators/invitations',
    headers: bearer(t.keys.server),
    payload: { email: address, name: `운영자${seq}`, role },
  });
  assert.equal(inv.statusCode, 201, inv.body);
  const b: Browser = {};
  assert.equal(
    (await send(on, b, 'POST', `/auth/invitations/${inv.json().token}/accept`, { password: PASSWORD })).statusCode,
    200,
  );
  const { secret } = (await send(on, b, 'POST', '/auth/enrol/totp')).json();
  assert.equal((await send(on, b, 'POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, now) })).statusCode, 200);
  const id = (await send(on, b, 'GET', '/auth/session')).json().operator.id;
  return { b, secret, email: address, id };
}

/** Delivers what the outbox holds (the worker is not running in tests). */
const deliver = async (d: Deps = deps) => {
  while ((await d.outbox.runOnce()) > 0);
};

/** The newest code the sandbox recorded for a phone. */
async function lastCode(to: string, channel = 'sms'): Promise<string> {
  await deliver();
  const [m] = await sandboxMessagesTo(deps, to, 1);
  assert.ok(m, `a message to ${to}`);
  assert.equal(m.channel, channel);
  return /\b(\d{6})\b/.exec(m.text)![1]!;
}

async function withPhone(o: Operator, to = phone()): Promise<string> {
  const asked = await send(app, o.b, 'POST', '/auth/phone', { phone: `${to.slice(0, 3)}-${to.slice(3, 7)}-${to.slice(7)}` });
  assert.equal(asked.statusCode, 200, asked.body);
  const confirmed = await send(app, o.b, 'POST', '/auth/phone/confirm', { code: await lastCode(to) });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  return to;
}

async function passwordStep(on: FastifyInstance, address: string): Promise<Browser> {
  const b: Browser = {};
  const res = await send(on, b, 'POST', '/auth/login', { email: address, password: PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  return b;
}

const count = (rs: LightMyRequestResponse[], status: number) => rs.filter((r) => r.statusCode === status).length;

test('SMS code: registering a phone through a code to it; sign-in by SMS or AlimTalk rotates the session; a code works once; step-up by code; stored hashed and sealed', async () => {
  const t = await newTenant(deps);
  const o = await enrolled(app, t);
  assert.deepEqual((await send(app, o.b, 'GET', '/auth/phone')).json(), { phone: null, channels: ['sms', 'alimtalk'] });
  const bad = await send(app, o.b, 'POST', '/auth/phone', { phone: '02-123-45678' });
  assert.equal(bad.statusCode, 400);

  const to = phone();
  const asked = await send(app, o.b, 'POST', '/auth/phone', { phone: to });
  assert.equal(asked.statusCode, 200, asked.body);
  assert.equal(asked.json().to, `${to.slice(0, 3)}-****-${to.slice(7)}`);
  assert.equal(asked.json().expiresAt, new Date(now.getTime() + 5 * 60_000).toISOString());
  assert.equal(asked.json().resendAfter, new Date(now.getTime() + 60_000).toISOString());
  assert.equal(asked.json().resendAfterSeconds, 60);
  // Queued, not sent, until the outbox delivers; the queued row holds no code and no number in the clear.
  assert.equal((await sandboxMessagesTo(deps, to)).length, 0);
  const queued = await sql<{
    payload: unknown;
  }>`select payload from outbox where topic = 'messages.send' and status = 'pending'`.execute(deps.db);
  assert.ok(queued.rows.length >= 1);
  const code = await lastCode(to);
  for (const r of queued.rows) assert.ok(!JSON.stringify(r.payload).includes(code) && !JSON.stringify(r.payload).includes(to));
  const stored = await deps.db.selectFrom('operator_code').selectAll().where('operator_id', '=', o.id).execute();
  assert.equal(stored.length, 1);
  assert.ok(!stored[0]!.code_hash.includes(code) && !stored[0]!.phone_sealed.includes(to));

  const confirmed = await send(app, o.b, 'POST', '/auth/phone/confirm', { code });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  assert.equal(confirmed.json().phone, `${to.slice(0, 3)}-****-${to.slice(7)}`);
  const row = await deps.db.selectFrom('operator').select('phone_sealed').where('id', '=', o.id).executeTakeFirstOrThrow();
  assert.equal(piiFor(deps.masterKey).open(row.phone_sealed!), to, 'sealed at rest');
  const log = (await send(app, o.b, 'GET', '/v1/operators/access-changes')).json().items;
  assert.equal(log[0].change, 'phone_added');

  // Sign-in: password, then a code by SMS.
  const b = await passwordStep(app, o.email);
  const partial = b.cookie;
  const sent = await send(app, b, 'POST', '/auth/phone-code', { channel: 'sms' });
  assert.equal(sent.statusCode, 200, sent.body);
  const signIn = await lastCode(to);
  const page = await app.inject({ url: `/sandbox/messages?to=${to}` });
  assert.equal(page.statusCode, 200);
  assert.ok(page.body.includes(signIn), 'the sandbox page shows the code');
  assert.equal((await send(app, b, 'GET', '/v1/operators')).json().code, 'SECOND_FACTOR_REQUIRED');
  const verified = await send(app, b, 'POST', '/auth/phone-code/verify', { code: signIn });
  assert.equal(verified.statusCode, 200, verified.body);
  assert.equal(verified.json().stage, 'full');
  assert.notEqual(b.cookie, partial, 'a new session id');
  assert.equal((await send(app, { cookie: partial }, 'GET', '/auth/session')).statusCode, 401, 'the old id is void');
  assert.equal((await send(app, b, 'GET', '/v1/operators')).statusCode, 200);

  // The same code again, from another sign-in: used.
  const c = await passwordStep(app, o.email);
  const again = await send(app, c, 'POST', '/auth/phone-code/verify', { code: signIn });
  assert.equal(`${again.statusCode} ${again.json().code}`, '401 INVALID_CREDENTIALS');
  // AlimTalk, a minute later.
  later(61_000);
  assert.equal((await send(app, c, 'POST', '/auth/phone-code', { channel: 'alimtalk' })).statusCode, 200);
  assert.equal((await send(app, c, 'POST', '/auth/phone-code/verify', { code: await lastCode(to, 'alimtalk') })).statusCode, 200);

  // Step-up by code: 16 minutes on, renewing recovery codes needs one.
  later(16 * 60_000);
  assert.equal((await send(app, c, 'POST', '/auth/recovery-codes')).json().code, 'STEP_UP_REQUIRED');
  assert.equal((await send(app, c, 'POST', '/auth/phone-code', {})).statusCode, 200);
  const up = await send(app, c, 'POST', '/auth/phone-code/verify', { code: await lastCode(to) });
  assert.equal(up.json().stage, 'full');
  assert.equal((await send(app, c, 'POST', '/auth/recovery-codes')).statusCode, 200);

  // Changing the phone needs the new number's code; removing it stops codes.
  const next = await withPhone({ ...o, b: c });
  assert.equal((await send(app, c, 'GET', '/auth/phone')).json().phone, `${next.slice(0, 3)}-****-${next.slice(7)}`);
  assert.equal((await send(app, c, 'DELETE', '/auth/phone')).statusCode, 204);
  const none = await send(app, await passwordStep(app, o.email), 'POST', '/auth/phone-code', {});
  assert.equal(`${none.statusCode} ${none.json().details.factor}`, '409 phone');
});

test('wrong codes: 5 attempts per code, 50 parallel wrong codes check at most 5; then the lockout holds for new codes too, apart from TOTP', async () => {
  const t = await newTenant(deps);
  const o = await enrolled(app, t);
  const to = await withPhone(o);
  later(61_000);
  const b = await passwordStep(app, o.email);
  assert.equal((await send(app, b, 'POST', '/auth/phone-code', {})).statusCode, 200);
  const right = await lastCode(to);
  const wrongs = Array.from({ length: 50 }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'));
  const rs = await Promise.all(
    wrongs.map((code) => send(app, { cookie: b.cookie }, 'POST', '/auth/phone-code/verify', { code })),
  );
  assert.equal(count(rs, 200), 0);
  assert.equal(count(rs, 401) + count(rs, 429), 50, 'beyond the per-minute window: 429; else one answer');
  const attempts = await deps.db
    .selectFrom('operator_code')
    .select('attempts')
    .where('operator_id', '=', o.id)
    .where('purpose', '=', 'sign_in')
    .executeTakeFirstOrThrow();
  assert.equal(attempts.attempts, 5, 'at most 5 checks of the code');
  const lock = await deps.db
    .selectFrom('secret_attempt')
    .selectAll()
    .where('kind', '=', 'operator_sms')
    .where('subject', '=', o.id)
    .executeTakeFirstOrThrow();
  assert.equal(lock.claimed, 5);
  assert.ok(lock.locked_until);

  later(61_000);
  const locked = await send(app, b, 'POST', '/auth/phone-code/verify', { code: right });
  assert.equal(`${locked.statusCode} ${locked.json().code}`, '401 INVALID_CREDENTIALS', 'the right code answers as a wrong one');
  // A new code does not lift the lock (its counter is per operator) …
  assert.equal((await send(app, b, 'POST', '/auth/phone-code', {})).statusCode, 200);
  const fresh = await lastCode(to);
  assert.equal((await send(app, b, 'POST', '/auth/phone-code/verify', { code: fresh })).statusCode, 401);
  // … while TOTP has a counter of its own.
  const other = await passwordStep(app, o.email);
  assert.equal(
    (await send(app, other, 'POST', '/auth/second-factor', { method: 'totp', code: totpCode(o.secret, now) })).statusCode,
    200,
  );
  // The lock runs out after 15 minutes.
  later(15 * 60_000);
  const c = await passwordStep(app, o.email);
  assert.equal((await send(app, c, 'POST', '/auth/phone-code', {})).statusCode, 200);
  assert.equal((await send(app, c, 'POST', '/auth/phone-code/verify', { code: await lastCode(to) })).statusCode, 200);
});

test('a code expires after 5 minutes; another may be asked for 60 s after the last (429 with Retry-After before), one message for parallel requests', async () => {
  const t = await newTenant(deps);
  const o = await enrolled(app, t);
  const to = await withPhone(o);
  later(61_000);
  const b = await passwordStep(app, o.email);
  const first = await Promise.all(
    Array.from({ length: 5 }, () => send(app, { cookie: b.cookie }, 'POST', '/auth/phone-code', {})),
  );
  assert.deepEqual(first.map((r) => r.statusCode).sort(), [200, 429, 429, 429, 429]);
  await deliver();
  const code = await lastCode(to);
  assert.equal((await sandboxMessagesTo(deps, to)).length, 2, 'the phone’s registration code and one sign-in code');

  later(30_000);
  const soon = await send(app, b, 'POST', '/auth/phone-code', {});
  assert.equal(soon.statusCode, 429);
  assert.equal(soon.json().code, 'RATE_LIMITED');
  assert.equal(soon.json().details.per, 'resend');
  assert.equal(soon.headers['retry-after'], '30');

  later(4 * 60_000 + 30_000 + 1);
  const expired = await send(app, b, 'POST', '/auth/phone-code/verify', { code });
  assert.equal(`${expired.statusCode} ${expired.json().code}`, '401 INVALID_CREDENTIALS');
  // The password step lives 15 minutes: a new code still works within it.
  const resent = await send(app, b, 'POST', '/auth/phone-code', {});
  assert.equal(resent.statusCode, 200, resent.body);
  assert.equal((await send(app, b, 'POST', '/auth/phone-code/verify', { code: await lastCode(to) })).statusCode, 200);
});

test('daily caps: 5 codes a day per phone and 8 per tenant (the test’s settings); the next day counts again', async () => {
  // A fresh UTC day, so that the counts start at 0.
  now = new Date(Math.ceil(now.getTime() / 86_400_000) * 86_400_000 + 3_600_000);
  const t = await newTenant(deps);
  const a = await enrolled(app, t);
  const p = await withPhone(a); // 1 for p, 1 for the tenant
  const b = await passwordStep(app, a.email);
  for (let i = 0; i < 4; i++) {
    later(61_000);
    assert.equal((await send(app, b, 'POST', '/auth/phone-code', {})).statusCode, 200, `code ${i + 2} to the phone`);
  }
  later(61_000);
  const capped = await send(app, b, 'POST', '/auth/phone-code', {});
  assert.equal(capped.statusCode, 429);
  assert.deepEqual([capped.json().details.per, capped.json().details.limit], ['phone', 5]);
  assert.ok(Number(capped.headers['retry-after']) > 0);

  const c = await enrolled(app, t);
  await withPhone(c); // 6 for the tenant
  const d = await passwordStep(app, c.email);
  for (let i = 0; i < 2; i++) {
    later(61_000);
    assert.equal((await send(app, d, 'POST', '/auth/phone-code', {})).statusCode, 200);
  }
  later(61_000);
  const tenantCapped = await send(app, d, 'POST', '/auth/phone-code', {});
  assert.deepEqual(
    [tenantCapped.statusCode, tenantCapped.json().details.per, tenantCapped.json().details.limit],
    [429, 'tenant', 8],
  );
  assert.equal((await sandboxMessagesTo(deps, p)).length, 5, 'refused codes were never queued');

  now = new Date(Math.ceil(now.getTime() / 86_400_000) * 86_400_000 + 60_000);
  const e = await passwordStep(app, a.email);
  assert.equal((await send(app, e, 'POST', '/auth/phone-code', {})).statusCode, 200, 'a new day');
  assert.equal((await send(app, e, 'POST', '/auth/phone-code/verify', { code: await lastCode(p) })).statusCode, 200);
});

/** The text part of a raw message as nodemailer writes it (quoted-printable or base64). */
function textOf(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split);
  const body = raw.slice(split).trim();
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head))
    return Buffer.from(
      body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body, 'base64').toString('utf8');
  return body;
}

test('emergency e-mail recovery over SMTP: the link arrives, works once, voids every factor and session, and the other owners and admins are told', async () => {
  const received: { to: string[]; text: string }[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          text: textOf(Buffer.concat(chunks).toString('latin1')),
        });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  const port = (smtp.server.address() as AddressInfo).port;
  // Its own app: mail goes through SMTP_URL (the file's app keeps the mailbox).
  const mailed = await testApp({
    clock,
    config: testConfig({
      ...CAPS,
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      MAIL_FROM: 'Moa <no-reply@moa.test>',
      MOA_PUBLIC_URL: 'https://console.moa.test',
    }),
  });
  registerMessageHandlers(mailed.deps);
  try {
    assert.equal(mailed.deps.providers.mail.name, 'smtp');
    const on = mailed.app;
    const t = await newTenant(mailed.deps);
    const owner = await enrolled(on, t, 'owner');
    const admin = await enrolled(on, t, 'admin');
    const cs = await enrolled(on, t, 'cs');
    const me = await enrolled(on, t, 'admin');

    const b = await passwordStep(on, me.email);
    const asked = await send(on, b, 'POST', '/auth/recovery/email');
    assert.equal(asked.statusCode, 200, asked.body);
    assert.match(asked.json().sentTo, /^co\*+@moacafe\.kr$/);
    await deliver(mailed.deps);
    const mine = received.filter((m) => m.to.includes(me.email));
    assert.equal(mine.length, 1);
    const token = /https:\/\/console\.moa\.test\/login#recovery=(oer_[\w-]+)/.exec(mine[0]!.text)?.[1];
    assert.ok(token, mine[0]!.text);
    const stored = await mailed.deps.db
      .selectFrom('operator_email_recovery')
      .selectAll()
      .where('operator_id', '=', me.id)
      .execute();
    assert.deepEqual(
      stored.map((r) => Buffer.from(r.token_hash).toString('hex')),
      [createHash('sha256').update(token).digest('hex')],
      'its SHA-256 only',
    );

    const fresh: Browser = {};
    const used = await send(on, fresh, 'POST', '/auth/recovery/email/confirm', { token });
    assert.equal(used.statusCode, 200, used.body);
    assert.equal(used.json().stage, 'enrol');
    assert.equal((await send(on, fresh, 'GET', '/v1/operators')).json().details.stage, 'enrol');
    assert.equal((await send(on, me.b, 'GET', '/auth/session')).statusCode, 401, 'every earlier session ended');
    const twice = await send(on, {}, 'POST', '/auth/recovery/email/confirm', { token });
    assert.equal(`${twice.statusCode} ${twice.json().code}`, '410 RECOVERY_LINK_NOT_USABLE');
    // The old authenticator is gone: sign-in asks for a new enrolment; the recovery codes are void.
    assert.equal((await passwordStep(on, me.email).then((x) => send(on, x, 'GET', '/auth/session'))).json().stage, 'enrol');
    assert.equal((await send(on, fresh, 'GET', '/auth/session')).json().recoveryCodesLeft, 0);
    const { secret } = (await send(on, fresh, 'POST', '/auth/enrol/totp')).json();
    assert.notEqual(secret, me.secret);
    assert.equal(
      (await send(on, fresh, 'POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, now) })).json().stage,
      'full',
    );

    await deliver(mailed.deps);
    const notices = received.filter((m) => !m.to.includes(me.email));
    assert.deepEqual(
      notices.map((m) => m.to).sort(),
      [[admin.email], [owner.email]].sort(),
      'owners and admins, not the CS agent',
    );
    assert.ok(notices.every((m) => m.text.includes(me.email) && m.text.includes('비상 이메일 복구')));
    assert.ok(!received.some((m) => m.to.includes(cs.email)));
    const log = (await send(on, owner.b, 'GET', '/v1/operators/access-changes')).json().items;
    assert.ok(
      log.some((c: { change: string; operatorId: string }) => c.change === 'second_factor_reset' && c.operatorId === me.id),
    );
  } finally {
    await mailed.app.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
});

test('without SMTP_URL the mailbox keeps the mail: links expire after 30 minutes, a new one replaces the last, three a day; platform operators notify each other', async () => {
  assert.equal(deps.providers.mail.name, 'mailbox');
  const t = await newTenant(deps);
  const owner = await enrolled(app, t, 'owner');
  const me = await enrolled(app, t, 'admin');
  const link = async () => {
    await deliver();
    const [m] = await mailboxFor(deps, me.email, 1);
    return /#recovery=(oer_[\w-]+)/.exec(m!.text)![1]!;
  };
  const ask = async () => send(app, await passwordStep(app, me.email), 'POST', '/auth/recovery/email');

  assert.equal((await ask()).statusCode, 200);
  const first = await link();
  const page = await app.inject({ url: `/sandbox/mailbox?to=${encodeURIComponent(me.email)}` });
  assert.ok(page.statusCode === 200 && page.body.includes(first), 'the sandbox mailbox page shows the link');
  // From a signed-in session there is nothing to recover.
  assert.equal((await send(app, owner.b, 'POST', '/auth/recovery/email')).statusCode, 409);
  later(30 * 60_000 + 1);
  assert.equal((await send(app, {}, 'POST', '/auth/recovery/email/confirm', { token: first })).statusCode, 410, 'expired');

  assert.equal((await ask()).statusCode, 200);
  const second = await link();
  assert.equal((await ask()).statusCode, 200);
  const third = await link();
  const fourth = await ask();
  assert.deepEqual([fourth.statusCode, fourth.json().details.per], [429, 'operator']);
  assert.equal((await send(app, {}, 'POST', '/auth/recovery/email/confirm', { token: second })).statusCode, 410, 'replaced');
  const used = await send(app, {}, 'POST', '/auth/recovery/email/confirm', { token: third });
  assert.equal(used.json().stage, 'enrol');
  await deliver();
  assert.match((await mailboxFor(deps, owner.email, 1))[0]!.subject, /비상 복구 알림/);

  // Platform operators: the others are told.
  const platformOps: { email: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const address = email();
    const inv = await app.inject({
      method: 'POST',
      url: '/platform/v1/operators/invitations',
      headers: platform,
      payload: { email: address, name: `플랫폼${i}` },
    });
    assert.equal(inv.statusCode, 201, inv.body);
    const b: Browser = {};
    await send(app, b, 'POST', `/auth/invitations/${inv.json().token}/accept`, { password: PASSWORD });
    const { secret } = (await send(app, b, 'POST', '/auth/enrol/totp')).json();
    assert.equal((await send(app, b, 'POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, now) })).statusCode, 200);
    platformOps.push({ email: address });
  }
  const pb = await passwordStep(app, platformOps[0]!.email);
  assert.equal((await send(app, pb, 'POST', '/auth/recovery/email')).statusCode, 200);
  await deliver();
  const [pm] = await mailboxFor(deps, platformOps[0]!.email, 1);
  const token = /#recovery=(oer_[\w-]+)/.exec(pm!.text)![1]!;
  assert.match(
    pm!.text,
    /http:\/\/localhost:80\/login#recovery=/,
    'without MOA_PUBLIC_URL (mailbox only): the request’s address',
  );
  assert.equal((await send(app, {}, 'POST', '/auth/recovery/email/confirm', { token })).statusCode, 200);
  await deliver();
  const [notice] = await mailboxFor(deps, platformOps[1]!.email, 1);
  assert.ok(notice?.text.includes(platformOps[0]!.email));
  assert.equal(notice?.tenantId, null);
});

test('MESSAGE_PROVIDER=none: codes by SMS and AlimTalk are refused before anything is queued', async () => {
  const off = await testApp({ clock, config: testConfig({ ...CAPS, MESSAGE_PROVIDER: 'none' }) });
  try {
    assert.equal(off.deps.providers.messages.channels.length, 0);
    const t = await newTenant(off.deps);
    const o = await enrolled(off.app, t);
    assert.deepEqual((await send(off.app, o.b, 'GET', '/auth/phone')).json().channels, []);
    const refused = await send(off.app, o.b, 'POST', '/auth/phone', { phone: phone() });
    assert.equal(refused.statusCode, 409);
    assert.deepEqual(refused.json().details.channels, []);
    assert.equal((await off.app.inject({ url: '/sandbox/messages' })).statusCode, 404, 'no sandbox page');
  } finally {
    await off.app.close();
  }
});
