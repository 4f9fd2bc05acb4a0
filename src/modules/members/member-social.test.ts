import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, grantUnits, newTenant, sandboxVerified, type TestTenant, testApp, testConfig } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

let app: FastifyInstance;
let deps: Deps;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const PASSWORD = 'social-tea-55';
const BACK = 'https://app.example.com/oauth/back';

async function brand(): Promise<TestTenant> {
  const t = await newTenant(deps, 'Social Brand');
  await grantUnits(app, t.tenant.id, 20);
  return t;
}

async function member(t: TestTenant, loginId: string, person: string, email?: string) {
  const verificationId = await sandboxVerified(app, deps, t.tenant.id, 'signup', { person });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { loginId, password: PASSWORD, verificationId, email, consents: { terms: true, privacy: true, age14: true } },
  });
  assert.equal(res.statusCode, 201, res.body);
  const token = (
    await app.inject({
      method: 'POST',
      url: '/v1/members/login',
      headers: bearer(t.keys.app),
      payload: { loginId, password: PASSWORD },
    })
  ).json().token;
  return { id: res.json().id as string, headers: { ...bearer(t.keys.app), 'x-member-token': token as string } };
}

/** The browser on the sandbox provider's page: approve (as a test account) or deny. Returns the query it comes back with. */
async function consent(authorizeUrl: string, form: Record<string, string>) {
  const page = await app.inject({ url: authorizeUrl });
  assert.equal(page.statusCode, 200, page.body);
  const q = new URL(authorizeUrl, 'http://moa.local').searchParams;
  const res = await app.inject({
    method: 'POST',
    url: authorizeUrl.split('?')[0]!,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ state: q.get('state')!, redirect_uri: q.get('redirect_uri')!, ...form }).toString(),
  });
  assert.equal(res.statusCode, 303, res.body);
  const back = new URL(res.headers.location as string);
  assert.equal(back.origin + back.pathname, BACK);
  return Object.fromEntries(back.searchParams) as { state: string; code?: string; error?: string };
}

async function link(m: { headers: Record<string, string> }, provider: string, account: string) {
  const started = await app.inject({
    method: 'POST',
    url: `/v1/me/social/${provider}/authorize`,
    headers: m.headers,
    payload: { redirectUri: BACK, password: PASSWORD },
  });
  assert.equal(started.statusCode, 200, started.body);
  return app.inject({
    method: 'POST',
    url: `/v1/me/social/${provider}`,
    headers: m.headers,
    payload: await consent(started.json().authorizeUrl, { decision: 'approve', account }),
  });
}

async function socialLogin(t: TestTenant, provider: string, form: Record<string, string>) {
  const started = await app.inject({
    method: 'POST',
    url: `/v1/members/social/${provider}/authorize`,
    headers: bearer(t.keys.app),
    payload: { redirectUri: BACK },
  });
  assert.equal(started.statusCode, 200, started.body);
  const back = await consent(started.json().authorizeUrl, form);
  return {
    back,
    res: await app.inject({
      method: 'POST',
      url: `/v1/members/social/${provider}/login`,
      headers: bearer(t.keys.app),
      payload: back,
    }),
  };
}

test('link after re-entering the password, then log in with the SNS account', async () => {
  const t = await brand();
  const m = await member(t, 'social1', 'hong');
  const wrong = await app.inject({
    method: 'POST',
    url: '/v1/me/social/sandbox/authorize',
    headers: m.headers,
    payload: { redirectUri: BACK, password: 'not-it-123' },
  });
  assert.equal(wrong.json().code, 'INVALID_CREDENTIALS', 'linking needs fresh authentication');

  const linked = await link(m, 'sandbox', 'hong');
  assert.equal(linked.statusCode, 200, linked.body);
  assert.deepEqual(
    linked.json().items.map((l: { provider: string }) => l.provider),
    ['sandbox'],
  );

  const { res } = await socialLogin(t, 'sandbox', { decision: 'approve', account: 'hong' });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().member.id, m.id);
  assert.match(res.json().token, /^mst_/);
  assert.ok((await app.inject({ url: '/v1/me/social', headers: m.headers })).json().items[0].lastLoginAt);
});

test('never linked by a matching e-mail; one SNS account, one member', async () => {
  const t = await brand();
  const m = await member(t, 'mailmatch', 'kim', 'gildong@example.com');
  // The sandbox test account "hong" has the verified e-mail gildong@example.com, like this member.
  const { res } = await socialLogin(t, 'sandbox', { decision: 'approve', account: 'hong' });
  assert.deepEqual([res.statusCode, res.json().code], [404, 'SOCIAL_NOT_LINKED']);
  assert.equal((await app.inject({ url: '/v1/me/social', headers: m.headers })).json().items.length, 0);

  assert.equal((await link(m, 'sandbox', 'hong')).statusCode, 200);
  const other = await member(t, 'other2', 'park');
  const taken = await link(other, 'sandbox', 'hong');
  assert.equal(taken.json().code, 'SOCIAL_ALREADY_LINKED');
  const second = await link(m, 'sandbox', 'kim');
  assert.equal(second.json().code, 'SOCIAL_ALREADY_LINKED', 'one link per provider per member');
});

test('states and codes are single-use; a denial is SOCIAL_DENIED; the sandbox is no open redirector', async () => {
  const t = await brand();
  const m = await member(t, 'states1', 'smith');
  await link(m, 'sandbox', 'kim');
  const { back, res } = await socialLogin(t, 'sandbox', { decision: 'approve', account: 'kim' });
  assert.equal(res.statusCode, 200);
  const replay = await app.inject({
    method: 'POST',
    url: '/v1/members/social/sandbox/login',
    headers: bearer(t.keys.app),
    payload: back,
  });
  assert.equal(replay.json().code, 'SOCIAL_STATE_INVALID');
  const started = await app.inject({
    method: 'POST',
    url: '/v1/members/social/sandbox/authorize',
    headers: bearer(t.keys.app),
    payload: { redirectUri: BACK },
  });
  const oldCode = await app.inject({
    method: 'POST',
    url: '/v1/members/social/sandbox/login',
    headers: bearer(t.keys.app),
    payload: { state: started.json().state, code: back.code },
  });
  assert.equal(oldCode.json().code, 'SOCIAL_CODE_INVALID');
  const otherProvider = await app.inject({
    method: 'POST',
    url: '/v1/members/social/naver/login',
    headers: bearer(t.keys.app),
    payload: back,
  });
  assert.deepEqual(
    [otherProvider.statusCode, otherProvider.json().code],
    [404, 'NOT_FOUND'],
    'a provider not in SOCIAL_PROVIDERS is not enabled',
  );

  const denied = await socialLogin(t, 'sandbox', { decision: 'deny' });
  assert.equal(denied.back.error, 'access_denied');
  assert.equal(denied.res.json().code, 'SOCIAL_DENIED');

  const fresh = (
    await app.inject({
      method: 'POST',
      url: '/v1/members/social/sandbox/authorize',
      headers: bearer(t.keys.app),
      payload: { redirectUri: BACK },
    })
  ).json();
  const elsewhere = fresh.authorizeUrl.replace(encodeURIComponent(BACK), encodeURIComponent('https://evil.example.net/'));
  assert.equal(
    (await app.inject({ url: elsewhere })).statusCode,
    422,
    'a redirect URI other than the one started with is refused',
  );
  assert.equal(
    (await app.inject({ url: '/sandbox/oauth/authorize?response_type=code&state=nope&redirect_uri=https%3A%2F%2Fx.example' }))
      .statusCode,
    422,
  );
});

test('unlink: allowed while another way to log in remains, refused for the last one', async () => {
  const t = await brand();
  const m = await member(t, 'unlink1', 'hong');
  await link(m, 'sandbox', 'hong');
  const withPassword = await app.inject({ method: 'DELETE', url: '/v1/me/social/sandbox', headers: m.headers });
  assert.deepEqual(withPassword.json().items, [], 'the password remains a way to log in');
  await link(m, 'sandbox', 'hong');
  // A member with no password (as an SNS-only sign-up will be) keeps the last link.
  await sql`update member set password_hash = null where tenant_id = ${t.tenant.id} and id = ${m.id}`.execute(deps.db);
  const last = await app.inject({ method: 'DELETE', url: '/v1/me/social/sandbox', headers: m.headers });
  assert.equal(last.json().code, 'SOCIAL_LAST_LOGIN_METHOD');
  assert.equal((await app.inject({ method: 'DELETE', url: '/v1/me/social/kakao', headers: m.headers })).statusCode, 404);
});

test('takeover: posting a victim’s provider id to the sandbox page never logs in as the victim', async () => {
  const t = await brand();
  const victim = await member(t, 'snsvictim', 'hong');
  // The victim links a new test account: its subject is issued by the provider, not typed.
  const linked = await link(victim, 'sandbox', 'new');
  assert.equal(linked.statusCode, 200, linked.body);
  const { provider_user_id: subject } = await deps.db
    .selectFrom('member_social_link')
    .select('provider_user_id')
    .where('tenant_id', '=', t.tenant.id)
    .where('member_id', '=', victim.id)
    .executeTakeFirstOrThrow();
  assert.match(subject, /^sandbox-[A-Za-z0-9_-]{20}$/);

  // The attacker knows that id and tries every way a form could carry it (the old account=custom&id=…).
  const forms: Record<string, string>[] = [
    { decision: 'approve', account: 'custom', id: subject.replace(/^sandbox-/, ''), name: 'x' },
    { decision: 'approve', account: 'custom', id: subject },
    { decision: 'approve', account: subject },
    { decision: 'approve', account: 'new', id: subject, providerUserId: subject, sub: subject },
  ];
  for (const form of forms) {
    const started = await app.inject({
      method: 'POST',
      url: '/v1/members/social/sandbox/authorize',
      headers: bearer(t.keys.app),
      payload: { redirectUri: BACK },
    });
    const q = new URL(started.json().authorizeUrl, 'http://moa.local').searchParams;
    const page = await app.inject({
      method: 'POST',
      url: '/sandbox/oauth/authorize',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ state: q.get('state')!, redirect_uri: BACK, ...form }).toString(),
    });
    if (page.statusCode !== 303) {
      assert.equal(page.statusCode, 422, 'a typed account is refused on the page');
      continue;
    }
    const back = Object.fromEntries(new URL(page.headers.location as string).searchParams);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/members/social/sandbox/login',
      headers: bearer(t.keys.app),
      payload: back,
    });
    assert.deepEqual(
      [res.statusCode, res.json().code],
      [404, 'SOCIAL_NOT_LINKED'],
      `${JSON.stringify(form)} must not log in as the victim`,
    );
  }
  // A code for another state (or a forged one) is worthless.
  const started = await app.inject({
    method: 'POST',
    url: '/v1/members/social/sandbox/authorize',
    headers: bearer(t.keys.app),
    payload: { redirectUri: BACK },
  });
  const forged = await app.inject({
    method: 'POST',
    url: '/v1/members/social/sandbox/login',
    headers: bearer(t.keys.app),
    payload: { state: started.json().state, code: `v1.k1.${subject}` },
  });
  assert.equal(forged.json().code, 'SOCIAL_CODE_INVALID');
});

test('with SNS login off (SOCIAL_PROVIDERS=none) the sandbox page is not mounted and the routes answer 404', async () => {
  const off = await testApp({ config: testConfig({ SOCIAL_PROVIDERS: 'none' }) });
  try {
    const t = await newTenant(off.deps, 'No SNS Brand');
    assert.equal(
      (await off.app.inject({ url: '/sandbox/oauth/authorize?response_type=code&state=x&redirect_uri=https%3A%2F%2Fa.example' }))
        .statusCode,
      404,
    );
    assert.equal((await off.app.inject({ method: 'POST', url: '/sandbox/oauth/authorize', payload: {} })).statusCode, 404);
    const start = await off.app.inject({
      method: 'POST',
      url: '/v1/members/social/sandbox/authorize',
      headers: bearer(t.keys.app),
      payload: { redirectUri: BACK },
    });
    assert.deepEqual([start.statusCode, start.json().code], [404, 'NOT_FOUND']);
  } finally {
    await off.app.close();
  }
});
