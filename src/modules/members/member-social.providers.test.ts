// SNS login end to end through the HTTP API with SOCIAL_PROVIDERS=kakao,naver: the real Kakao adapter
// against oidc-provider, the Naver adapter against the local Naver; the account comes from the provider.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type KakaoFake, startKakaoFake } from '../../../test/fakes/kakao-oidc.fake.ts';
import { type NaverFake, startNaverFake } from '../../../test/fakes/naver.fake.ts';
import { bearer, grantUnits, newTenant, sandboxVerified, type TestTenant, testApp, testConfig } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

const BACK = 'https://app.example.com/oauth/back';
const PASSWORD = 'social-e2e-pass-9';
let kakao: KakaoFake;
let naver: NaverFake;
let app: FastifyInstance;
let deps: Deps;

before(async () => {
  kakao = await startKakaoFake({ clientId: 'kakao-e2e', clientSecret: 'kakao-e2e-secret', redirectUris: [BACK] });
  kakao.addAccount({
    id: 5000000001,
    kakao_account: { profile: { nickname: '카카오 회원' }, email: 'k@kakao.com', is_email_valid: true, is_email_verified: true },
  });
  kakao.addAccount({ id: 5000000002, kakao_account: { profile: { nickname: '다른 사람' } } });
  naver = await startNaverFake({ clientId: 'naver-e2e', clientSecret: 'naver-e2e-secret' });
  naver.addUser({ id: 'naver-e2e-1', name: '네이버 회원', email: 'n@naver.com' });
  naver.addUser({ id: 'naver-e2e-2', name: '다른 사람' });
  const config = testConfig({
    SOCIAL_PROVIDERS: 'kakao,naver',
    KAKAO_CLIENT_ID: 'kakao-e2e',
    KAKAO_CLIENT_SECRET: 'kakao-e2e-secret',
    KAKAO_ISSUER: kakao.issuer,
    NAVER_CLIENT_ID: 'naver-e2e',
    NAVER_CLIENT_SECRET: 'naver-e2e-secret',
    NAVER_AUTH_BASE_URL: naver.authBaseUrl,
    NAVER_API_BASE_URL: naver.apiBaseUrl,
  });
  ({ app, deps } = await testApp({ config }));
});
after(async () => {
  await app.close();
  await kakao.close();
  await naver.close();
});

async function member(t: TestTenant, loginId: string) {
  const verificationId = await sandboxVerified(app, deps, t.tenant.id, 'signup', { person: 'hong' });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { loginId, password: PASSWORD, verificationId, consents: { terms: true, privacy: true, age14: true } },
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

const browse = {
  kakao: (url: string, who: string) => kakao.login(url, who),
  naver: (url: string, who: string) => naver.login(url, who),
};

/**
 * What the brand's app relays from its redirect URI: state with code or error. An OpenID provider also
 * sends `iss` back (RFC 9207); the app does not relay it, the server checks it against the provider itself.
 */
function callback(back: URL): { state?: string; code?: string; error?: string } {
  return Object.fromEntries(
    ['state', 'code', 'error'].flatMap((k) => (back.searchParams.has(k) ? [[k, back.searchParams.get(k)]] : [])),
  );
}

async function linkAndLogin(provider: 'kakao' | 'naver', linked: string, other: string) {
  const t = await newTenant(deps, `SNS ${provider} Brand`);
  await grantUnits(app, t.tenant.id, 5);
  const m = await member(t, `${provider}${Date.now()}`);

  const start = await app.inject({
    method: 'POST',
    url: `/v1/me/social/${provider}/authorize`,
    headers: m.headers,
    payload: { redirectUri: BACK, password: PASSWORD },
  });
  assert.equal(start.statusCode, 200, start.body);
  const back = await browse[provider](start.json().authorizeUrl, linked);
  const link = await app.inject({
    method: 'POST',
    url: `/v1/me/social/${provider}`,
    headers: m.headers,
    payload: callback(back),
  });
  assert.equal(link.statusCode, 200, link.body);

  const login = async (who: string) => {
    const s = await app.inject({
      method: 'POST',
      url: `/v1/members/social/${provider}/authorize`,
      headers: bearer(t.keys.app),
      payload: { redirectUri: BACK },
    });
    assert.equal(s.statusCode, 200, s.body);
    const b = await browse[provider](s.json().authorizeUrl, who);
    return app.inject({
      method: 'POST',
      url: `/v1/members/social/${provider}/login`,
      headers: bearer(t.keys.app),
      payload: callback(b),
    });
  };
  const ok = await login(linked);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().member.id, m.id);
  // Another provider account is another subject: not linked, whatever the browser would like.
  const stranger = await login(other);
  assert.equal(stranger.json().code, 'SOCIAL_NOT_LINKED', stranger.body);
  // A code replayed with its state: the state is single use.
  const s = await app.inject({
    method: 'POST',
    url: `/v1/members/social/${provider}/authorize`,
    headers: bearer(t.keys.app),
    payload: { redirectUri: BACK },
  });
  const b = callback(await browse[provider](s.json().authorizeUrl, linked));
  assert.equal(
    (await app.inject({ method: 'POST', url: `/v1/members/social/${provider}/login`, headers: bearer(t.keys.app), payload: b }))
      .statusCode,
    200,
  );
  const replay = await app.inject({
    method: 'POST',
    url: `/v1/members/social/${provider}/login`,
    headers: bearer(t.keys.app),
    payload: b,
  });
  assert.equal(replay.json().code, 'SOCIAL_STATE_INVALID');
  // The sandbox provider is not configured: its page and its name are gone.
  assert.equal(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/members/social/sandbox/authorize',
        headers: bearer(t.keys.app),
        payload: { redirectUri: BACK },
      })
    ).statusCode,
    404,
  );
}

test('HTTP: SOCIAL_PROVIDERS=kakao links and logs in through OpenID Connect; the subject is the ID token’s sub', async () => {
  await linkAndLogin('kakao', '5000000001', '5000000002');
});

test('HTTP: SOCIAL_PROVIDERS=naver links and logs in through OAuth 2.0; the subject is the profile’s id', async () => {
  await linkAndLogin('naver', 'naver-e2e-1', 'naver-e2e-2');
});
