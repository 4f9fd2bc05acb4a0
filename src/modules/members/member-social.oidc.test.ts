// The Kakao OIDC adapter (openid-client) against a real OpenID provider (oidc-provider) started here.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type KakaoFake, startKakaoFake } from '../../../test/fakes/kakao-oidc.fake.ts';
import { AppError } from '../../platform/errors.ts';
import { randomToken } from '../../platform/ids.ts';
import { deriveFromState, kakaoSocialProvider } from './member-social.oidc.ts';

const CLIENT = { clientId: 'kakao-rest-api-key', clientSecret: 'kakao-client-secret-0123456789abcdef' };
const REDIRECT = 'https://shop.example.com/oauth/kakao/callback';
const STATE_SECRET = randomBytes(32);
let fake: KakaoFake;

before(async () => {
  fake = await startKakaoFake({ ...CLIENT, redirectUris: [REDIRECT] });
  fake.addAccount({
    id: 4000000001,
    kakao_account: {
      profile: { nickname: '길동' },
      name: '홍길동',
      email: 'gildong@kakao.com',
      is_email_valid: true,
      is_email_verified: true,
      phone_number: '+82 10-1234-5678',
      birthyear: '1990',
      birthday: '0115',
      gender: 'male',
    },
  });
  fake.addAccount({
    id: 4000000002,
    kakao_account: { profile: { nickname: '민지' }, email: 'old@kakao.com', is_email_valid: false, is_email_verified: true },
  });
});
after(() => fake.close());

const kakao = (over: { clientSecret?: string; stateSecret?: Buffer; issuer?: string } = {}) =>
  kakaoSocialProvider({ ...CLIENT, issuer: fake.issuer, stateSecret: STATE_SECRET, ...over });

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

async function loginAs(sub: string | null, provider = kakao()) {
  const state = randomToken(32);
  const url = new URL(await provider.authorizeUrl(state, REDIRECT));
  const back = await fake.login(url.href, sub);
  assert.equal(back.searchParams.get('state'), state);
  return { url, state, code: back.searchParams.get('code'), error: back.searchParams.get('error') };
}

test('authorization code + PKCE (S256) + state + nonce; the account is the ID token’s sub, the profile Kakao’s /v2/user/me', async () => {
  const { url, state, code } = await loginAs('4000000001');
  assert.equal(url.origin, fake.issuer);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(url.searchParams.get('code_challenge'));
  assert.equal(url.searchParams.get('nonce'), deriveFromState(STATE_SECRET, 'nonce', state));
  assert.ok(!url.href.includes(deriveFromState(STATE_SECRET, 'pkce', state)), 'the PKCE verifier never leaves the server');
  assert.equal(url.searchParams.get('scope'), 'openid');
  const account = await kakao().exchange({ code: code!, state, redirectUri: REDIRECT });
  assert.deepEqual(account, {
    providerUserId: '4000000001',
    name: '홍길동',
    email: 'gildong@kakao.com',
    emailVerified: true,
    phone: '01012345678',
    birthday: '01-15',
    birthYear: 1990,
    gender: 'male',
  });
});

test('an invalid e-mail is no e-mail; a nickname stands in for a missing name', async () => {
  const { state, code } = await loginAs('4000000002');
  const account = await kakao().exchange({ code: code!, state, redirectUri: REDIRECT });
  assert.equal(account.providerUserId, '4000000002');
  assert.equal(account.name, '민지');
  assert.equal(account.email, null);
  assert.equal(account.emailVerified, false);
});

test('a used code is SOCIAL_CODE_INVALID', async () => {
  const { state, code } = await loginAs('4000000002');
  await kakao().exchange({ code: code!, state, redirectUri: REDIRECT });
  await rejects(kakao().exchange({ code: code!, state, redirectUri: REDIRECT }), 'SOCIAL_CODE_INVALID');
});

test('a code cannot finish another login: with another state its PKCE verifier is wrong', async () => {
  const { code } = await loginAs('4000000001');
  await rejects(kakao().exchange({ code: code!, state: randomToken(32), redirectUri: REDIRECT }), 'SOCIAL_CODE_INVALID');
  const second = await loginAs('4000000001');
  await rejects(
    kakao({ stateSecret: randomBytes(32) }).exchange({ code: second.code!, state: second.state, redirectUri: REDIRECT }),
    'SOCIAL_CODE_INVALID',
  );
});

test('a user API answer for another account than the ID token is refused', async () => {
  const { state, code } = await loginAs('4000000001');
  fake.overrideUserMe((me) => ({ ...me, id: 4000000002 }));
  try {
    await rejects(kakao().exchange({ code: code!, state, redirectUri: REDIRECT }), 'SOCIAL_PROVIDER_ERROR');
  } finally {
    fake.overrideUserMe(undefined);
  }
});

test('a wrong client secret, or an issuer that cannot be reached, is SOCIAL_PROVIDER_ERROR', async () => {
  const { state, code } = await loginAs('4000000001');
  await rejects(
    kakao({ clientSecret: 'wrong' }).exchange({ code: code!, state, redirectUri: REDIRECT }),
    'SOCIAL_PROVIDER_ERROR',
  );
  await rejects(
    kakao({ issuer: 'http://127.0.0.1:1' }).authorizeUrl(randomToken(32), REDIRECT) as Promise<string>,
    'SOCIAL_PROVIDER_ERROR',
  );
});

test('a person who cancels on Kakao’s page comes back with error=access_denied and no code', async () => {
  const back = await loginAs(null);
  assert.equal(back.code, null);
  assert.equal(back.error, 'access_denied');
});
