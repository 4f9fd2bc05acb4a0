import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import {
  bearer,
  memberToken,
  newMembers,
  newTenant,
  signedInOperator,
  type TestTenant,
  testApp,
  testConfig,
} from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import { withTenant } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { hashPassword, passwordChecks } from '../../platform/passwords.ts';
import { piiFor } from '../../platform/pii.ts';
import { mailboxFor, registerMessageHandlers, sandboxMessagesTo } from '../messages/index.ts';
import { marketingConsent } from './index.ts';

// Members manage themselves (issue 17 §3): profile and e-mail with a confirmation link, password
// change under the login lockout, consents with their append-only history and the §50 notice.
// On PGlite and PostgreSQL (TEST_DATABASE_URL=… npm test -- this file).

const clock = fixedClock(new Date());
let app: FastifyInstance;
let deps: Deps;

before(async () => {
  // The lockout is under test, not the per-credential rate limit.
  const config = testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000', SECRET_RATE_LIMIT_PER_IP: '1000' });
  ({ app, deps } = await testApp({ clock, config }));
  registerMessageHandlers(deps);
});
after(() => app.close());

const PASSWORD = 'coffee&cake24';
const CONFIRM_URL = 'https://shop.example.kr/account/email';
let seq = 0;

type Member = { id: string; loginId: string; phone: string; token: string; headers: Record<string, string> };

/** A tenant whose policy names its e-mail confirmation page, and one member with PASSWORD, signed in. */
async function brand(): Promise<{ t: TestTenant; m: Member }> {
  const t = await newTenant(deps, 'Self Service');
  const policy = (await app.inject({ method: 'GET', url: '/v1/members/policy', headers: bearer(t.keys.server) })).json();
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/members/policy',
    headers: bearer(t.keys.server),
    payload: { ...policy, emailConfirmUrl: CONFIRM_URL },
  });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().emailConfirmUrl, CONFIRM_URL);
  return { t, m: await member(t) };
}

async function member(t: TestTenant): Promise<Member> {
  const [id] = await newMembers(deps, t.tenant.id, 1);
  const loginId = `self${process.pid}x${++seq}`;
  const row = await deps.db
    .updateTable('member')
    .set({ login_id: loginId, password_hash: await hashPassword(PASSWORD) })
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', id!)
    .returning('profile_sealed')
    .executeTakeFirstOrThrow();
  const phone = piiFor(deps.masterKey).open<{ phone: string }>(row.profile_sealed!).phone;
  const token = await memberToken(deps, t.tenant.id, id!);
  return { id: id!, loginId, phone, token, headers: { ...bearer(t.keys.app), 'x-member-token': token } };
}

const deliver = async () => {
  while ((await deps.outbox.runOnce()) > 0);
};

const send = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

/** The token of the newest confirmation link mailed to an address. */
async function mailedToken(address: string): Promise<string> {
  await deliver();
  const [mail] = await mailboxFor(deps, address, 1);
  assert.ok(mail, `a mail to ${address}`);
  assert.ok(mail.text.includes(`${CONFIRM_URL}#token=`), mail.text);
  return /#token=(mec_[\w-]+)/.exec(mail.text)![1]!;
}

test('PATCH /v1/me: nickname and address at once (address sealed, shown masked); an empty or unknown patch is 400', async () => {
  const { t, m } = await brand();
  const empty = await send('PATCH', '/v1/me', m.headers, {});
  assert.equal(empty.statusCode, 400, empty.body);
  assert.equal(empty.json().code, 'VALIDATION_FAILED');
  const unknown = await send('PATCH', '/v1/me', m.headers, { nickname: '라떼', loginId: 'someone' });
  assert.equal(unknown.statusCode, 400);
  assert.equal(unknown.json().errors[0].code, 'unrecognized_keys');
  const badZip = await send('PATCH', '/v1/me', m.headers, { address: { postalCode: '12', line1: 'x' } });
  assert.equal(badZip.statusCode, 400);
  assert.match(badZip.json().errors[0].field, /postalCode/);

  const address = { postalCode: '06236', line1: '서울 강남구 테헤란로 152', line2: '강남파이낸스센터 12층' };
  const res = await send('PATCH', '/v1/me', m.headers, { nickname: '라떼러버', address });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().member.nickname, '라떼러버');
  assert.equal(res.json().member.address, '06236 서울 강남구 ***');
  assert.equal(res.json().emailConfirmation, null);
  assert.equal((await send('GET', '/v1/me', m.headers)).json().address, '06236 서울 강남구 ***');
  const raw = await sql<{
    r: string;
  }>`select m::text as r from member m where tenant_id = ${t.tenant.id} and id = ${m.id}`.execute(deps.db);
  assert.ok(!raw.rows[0]!.r.includes('테헤란로') && !raw.rows[0]!.r.includes('라떼러버'), 'sealed at rest');

  const unmasked = await send('POST', `/v1/members/${m.id}/unmask`, bearer(t.keys.server), { reason: '배송지 확인 문의 #77' });
  assert.deepEqual(unmasked.json().address, address, 'unmasked with a reason, into the access log');

  const removed = await send('PATCH', '/v1/me', m.headers, { nickname: null });
  assert.equal(removed.json().member.nickname, null);
  assert.equal(removed.json().member.address, '06236 서울 강남구 ***', 'the address stays');
});

test('a new e-mail is the member’s only after its link is confirmed; a used, replaced, foreign or expired link is EMAIL_LINK_NOT_USABLE', async () => {
  const { t, m } = await brand();
  const other = await member(t);
  const first = `first.${process.pid}.${++seq}@example.com`;
  const second = `second.${process.pid}.${++seq}@example.com`;

  const asked = await send('PATCH', '/v1/me', m.headers, { email: first });
  assert.equal(asked.statusCode, 200, asked.body);
  assert.equal(asked.json().member.email, null, 'unchanged until confirmed');
  assert.match(asked.json().emailConfirmation.sentTo, /^fi\*+@example\.com$/);
  assert.equal((await send('GET', '/v1/me', m.headers)).json().email, null);
  const firstToken = await mailedToken(first);

  // A newer change replaces the open link.
  await send('PATCH', '/v1/me', m.headers, { email: second });
  const secondToken = await mailedToken(second);
  const replaced = await send('POST', '/v1/me/email/confirm', m.headers, { token: firstToken });
  assert.equal(replaced.statusCode, 410, replaced.body);
  assert.equal(replaced.json().code, 'EMAIL_LINK_NOT_USABLE');

  const foreign = await send('POST', '/v1/me/email/confirm', other.headers, { token: secondToken });
  assert.equal(foreign.json().code, 'EMAIL_LINK_NOT_USABLE', 'another member cannot use it');
  const wrong = await send('POST', '/v1/me/email/confirm', m.headers, { token: `${secondToken}x` });
  assert.equal(wrong.json().code, 'EMAIL_LINK_NOT_USABLE');

  const ok = await send('POST', '/v1/me/email/confirm', m.headers, { token: secondToken });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.match(ok.json().email, /^se\*+@example\.com$/);
  const used = await send('POST', '/v1/me/email/confirm', m.headers, { token: secondToken });
  assert.equal(used.statusCode, 410);
  assert.equal(used.json().code, 'EMAIL_LINK_NOT_USABLE');

  // Only a keyed hash of the token and the sealed address are stored.
  const rows = await sql<{ r: string }>`select c::text as r from member_email_change c where tenant_id = ${t.tenant.id}`.execute(
    deps.db,
  );
  assert.equal(rows.rows.length, 2);
  for (const r of rows.rows) assert.ok(!r.r.includes(secondToken) && !r.r.includes('example.com'), r.r);

  // Expired after 24 hours.
  const third = `third.${process.pid}.${++seq}@example.com`;
  await send('PATCH', '/v1/me', other.headers, { email: third });
  const thirdToken = await mailedToken(third);
  clock.advance(24 * 3_600_000 + 1_000);
  const expired = await send('POST', '/v1/me/email/confirm', other.headers, { token: thirdToken });
  assert.equal(expired.json().code, 'EMAIL_LINK_NOT_USABLE');
  assert.equal((await send('GET', '/v1/me', other.headers)).json().email, null);
});

test('an e-mail change is refused (nothing mailed) while the brand has not set its confirmation page', async () => {
  const t = await newTenant(deps, 'No Page');
  const m = await member(t);
  const address = `nopage.${process.pid}.${++seq}@example.com`;
  const res = await send('PATCH', '/v1/me', m.headers, { email: address });
  assert.equal(res.statusCode, 409, res.body);
  assert.equal(res.json().details.rule, 'email_confirm_url_unset');
  await deliver();
  assert.deepEqual(await mailboxFor(deps, address), []);
});

test('password change: the current one is checked under the login lockout; it ends the other sessions only', async () => {
  const { t, m } = await brand();
  const otherSession = await memberToken(deps, t.tenant.id, m.id);
  const change = (headers: Record<string, string>, currentPassword: string, newPassword = 'latte&scone25') =>
    send('POST', '/v1/me/password', headers, { currentPassword, newPassword });

  const weak = await change(m.headers, PASSWORD, 'aaaaaaaaaa');
  assert.equal(weak.statusCode, 400);
  assert.equal(weak.json().errors[0].field, 'newPassword');
  const wrong = await change(m.headers, 'not-my-password-1');
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().code, 'INVALID_CREDENTIALS');

  const ok = await change(m.headers, PASSWORD);
  assert.equal(ok.statusCode, 204, ok.body);
  assert.equal((await send('GET', '/v1/me', m.headers)).statusCode, 200, 'this session goes on');
  assert.equal((await send('GET', '/v1/me', { ...bearer(t.keys.app), 'x-member-token': otherSession })).statusCode, 401);
  const login = (password: string) => send('POST', '/v1/members/login', bearer(t.keys.app), { loginId: m.loginId, password });
  assert.equal((await login(PASSWORD)).statusCode, 401);
  assert.equal((await login('latte&scone25')).statusCode, 200);
});

const count = (rs: LightMyRequestResponse[], status: number) => rs.filter((r) => r.statusCode === status).length;

test('50 parallel wrong current passwords: exactly 5 are checked (401), 45 locked (423); login is locked too', async () => {
  const { t, m } = await brand();
  const checks = passwordChecks();
  const rs = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      send('POST', '/v1/me/password', m.headers, { currentPassword: `wrong-pass-${i}`, newPassword: 'latte&scone25' }),
    ),
  );
  assert.equal(count(rs, 401), 5, rs.map((r) => r.statusCode).join());
  assert.equal(count(rs, 423), 45);
  assert.equal(passwordChecks() - checks, 5, 'no password is checked while locked');
  assert.equal(rs.find((r) => r.statusCode === 423)!.json().code, 'LOGIN_LOCKED');
  const login = await send('POST', '/v1/members/login', bearer(t.keys.app), { loginId: m.loginId, password: PASSWORD });
  assert.equal(login.json().code, 'LOGIN_LOCKED', 'the same counter as login');
});

test('consents: changes are appended in order with their channel; the §50 notice goes out; marketingConsent reads them', async () => {
  const { t, m } = await brand();
  const initial = (await send('GET', '/v1/me/consents', m.headers)).json();
  assert.deepEqual(
    initial.history.map((h: { consent: string; channel: string }) => `${h.consent}:${h.channel}`),
    ['terms:import', 'privacy:import', 'age14:import'],
    'the import wrote the consents it brought',
  );
  assert.deepEqual(initial.current.marketing, { sms: null, email: null, push: null, messenger: null });

  const empty = await send('PUT', '/v1/me/consents', m.headers, {});
  assert.equal(empty.statusCode, 400);
  assert.equal((await send('PUT', '/v1/me/consents', m.headers, { marketing: {} })).statusCode, 400);
  assert.equal(
    (await send('PUT', '/v1/me/consents', m.headers, { terms: false })).statusCode,
    400,
    'withdrawing terms is withdrawal',
  );

  const granted = await send('PUT', '/v1/me/consents', m.headers, { marketing: { sms: true, messenger: true }, night: true });
  assert.equal(granted.statusCode, 200, granted.body);
  assert.equal(granted.json().notice, 'alimtalk', 'no e-mail: AlimTalk to the phone');
  clock.advance(60_000);
  const withdrawn = await send('PUT', '/v1/me/consents', m.headers, {
    marketing: { sms: false, messenger: true },
    channel: 'web',
  });
  assert.equal(withdrawn.statusCode, 200, withdrawn.body);
  const history = withdrawn.json().history.slice(3);
  assert.deepEqual(
    history.map((h: { consent: string; granted: boolean; channel: string }) => `${h.consent}:${h.granted}:${h.channel}`),
    ['marketing_sms:true:app', 'marketing_messenger:true:app', 'night:true:app', 'marketing_sms:false:web'],
    'only what changed, oldest first',
  );
  assert.ok(history[3].at > history[0].at);
  assert.equal(withdrawn.json().current.marketing.sms, null);
  assert.equal(withdrawn.json().current.marketing.messenger, granted.json().current.marketing.messenger, 'unchanged');

  await deliver();
  const notices = await sandboxMessagesTo(deps, m.phone, 5);
  assert.equal(notices.length, 2);
  assert.equal(notices[0]!.channel, 'alimtalk');
  assert.match(notices[0]!.text, /광고성 정보 수신 동의 변경 안내/);
  assert.match(notices[0]!.text, /문자\(SMS\): 거부 \(변경\)/);
  assert.match(notices[0]!.text, /카카오톡\(알림톡·친구톡\): 동의/);
  assert.match(notices[0]!.text, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Asia\/Seoul\)/, 'the date of the change');

  assert.deepEqual(await marketingConsent(deps, t.tenant.id, m.id), {
    sms: false,
    messenger: true,
    push: false,
    email: false,
    night: true,
  });
  // No change, no row and no notice.
  const same = await send('PUT', '/v1/me/consents', m.headers, { marketing: { messenger: true } });
  assert.equal(same.json().notice, null);
  assert.equal(same.json().history.length, 7);

  // With an e-mail the notice goes by mail.
  const address = `consent.${process.pid}.${++seq}@example.com`;
  await send('PATCH', '/v1/me', m.headers, { email: address });
  await send('POST', '/v1/me/email/confirm', m.headers, { token: await mailedToken(address) });
  const push = await send('PUT', '/v1/me/consents', m.headers, { marketing: { push: true } });
  assert.equal(push.json().notice, 'email');
  await deliver();
  assert.match((await mailboxFor(deps, address, 1))[0]!.text, /앱 푸시: 동의 \(변경\)/);
});

test('operators change consents for a member with a reason (else 400, nothing written); server keys name the channel', async () => {
  const { t, m } = await brand();
  const op = await signedInOperator(app, t, 'cs', clock.now());
  const url = `/v1/members/${m.id}/consents`;
  const before = (await send('GET', url, op.headers)).json().history.length;

  const noReason = await send('PUT', url, op.headers, { marketing: { email: true } });
  assert.equal(noReason.statusCode, 400, noReason.body);
  assert.equal(noReason.json().errors[0].field, 'reason');
  const short = await send('PUT', url, op.headers, { marketing: { email: true }, reason: ' 짧다 ' });
  assert.equal(short.statusCode, 400);
  assert.equal((await send('GET', url, op.headers)).json().history.length, before, 'nothing written');
  assert.equal((await marketingConsent(deps, t.tenant.id, m.id)).email, false);

  const ok = await send('PUT', url, op.headers, { marketing: { email: true }, reason: '매장 방문 고객 요청 #812' });
  assert.equal(ok.statusCode, 200, ok.body);
  const last = ok.json().history.at(-1);
  assert.deepEqual(
    { ...last, at: undefined },
    {
      consent: 'marketing_email',
      granted: true,
      at: undefined,
      channel: 'operator',
      operatorId: (await send('GET', '/auth/session', op.headers)).json().operator.id,
      reason: '매장 방문 고객 요청 #812',
    },
  );

  const noChannel = await send('PUT', url, bearer(t.keys.server), { marketing: { sms: true } });
  assert.equal(noChannel.statusCode, 400);
  assert.equal(noChannel.json().errors[0].field, 'channel');
  const pos = await send('PUT', url, bearer(t.keys.server), { marketing: { sms: true }, channel: 'pos' });
  assert.equal(pos.json().history.at(-1).channel, 'pos');
  assert.equal((await send('PUT', url, bearer(t.keys.app), { marketing: { sms: true }, channel: 'pos' })).statusCode, 403);
  assert.equal((await send('GET', `/v1/members/mbr_${'0'.repeat(26)}/consents`, bearer(t.keys.server))).statusCode, 404);
  assert.equal((await send('GET', '/v1/me/consents', m.headers)).json().history.length, before + 2);
});

test('the consent history is append-only: the application roles cannot update or delete it', async () => {
  const { t } = await brand();
  for (const statement of [sql`update member_consent set granted = not granted`, sql`delete from member_consent`]) {
    await assert.rejects(statement.execute(deps.db), /permission denied/, 'as moa_system');
    await assert.rejects(
      withTenant(t.tenant.id, () => statement.execute(deps.db)),
      /permission denied/,
      'as moa_app',
    );
  }
  const n = await sql<{ n: number }>`select count(*)::int as n from member_consent where tenant_id = ${t.tenant.id}`.execute(
    deps.db,
  );
  assert.equal(n.rows[0]!.n, 3);
});

test('sign-up writes the consents given as the first rows of the history (channel app)', async () => {
  const t = await newTenant(deps, 'Sign-up Consents');
  const policy = (await send('GET', '/v1/members/policy', bearer(t.keys.server))).json();
  await send('PUT', '/v1/members/policy', bearer(t.keys.server), { ...policy, allowUnverified: true });
  const res = await send('POST', '/v1/members', bearer(t.keys.app), {
    loginId: `join${process.pid}x${++seq}`,
    password: PASSWORD,
    name: '김가입',
    phone: `010${String(30_000_000 + ((process.pid * 31 + seq) % 60_000_000)).padStart(8, '0')}`,
    consents: { terms: true, privacy: true, age14: true, marketing: { sms: true, messenger: true }, night: true },
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.ok(res.json().consents.marketing.messenger && res.json().consents.night);
  const history = (await send('GET', `/v1/members/${res.json().id}/consents`, bearer(t.keys.server))).json().history;
  assert.deepEqual(
    history.map((h: { consent: string; channel: string }) => `${h.consent}:${h.channel}`),
    ['terms:app', 'privacy:app', 'age14:app', 'marketing_sms:app', 'marketing_messenger:app', 'night:app'],
  );
});
