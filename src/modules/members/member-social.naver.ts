import * as oidc from 'openid-client';
import { AppError } from '../../platform/errors.ts';
import { clientOptions, oauthFailure } from './member-social.oidc.ts';
import type { SocialAccount, SocialProvider, SocialProviderName } from './member-social.provider.ts';

// 네이버 로그인 is OAuth 2.0, not OpenID Connect (https://developers.naver.com/docs/login/api/api.md,
// "네이버 로그인 API 명세"): authorize at nid.naver.com/oauth2.0/authorize, the code exchanged at
// /oauth2.0/token (client id and secret as parameters, with the state), and the profile read from
// openapi.naver.com/v1/nid/me (https://developers.naver.com/docs/login/profile/profile.md). The
// account's id is that profile's `response.id`, asked server to server with the access token.

export const NAVER_AUTH_BASE_URL = 'https://nid.naver.com';
export const NAVER_API_BASE_URL = 'https://openapi.naver.com';

export type NaverOptions = {
  clientId: string;
  clientSecret: string;
  authBaseUrl?: string | undefined;
  apiBaseUrl?: string | undefined;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
};

/** The profile API's answer, as documented. */
export type NaverProfileResponse = {
  resultcode: string;
  message: string;
  response?: {
    id: string;
    email?: string;
    name?: string;
    nickname?: string;
    mobile?: string;
    birthday?: string;
    birthyear?: string;
    gender?: 'F' | 'M' | 'U';
  };
};

/** Naver's profile in our terms. `mobile` comes as "010-1234-5678", `birthday` as "MM-DD". */
export function naverAccount(r: NonNullable<NaverProfileResponse['response']>): SocialAccount {
  return {
    providerUserId: r.id,
    name: r.name ?? r.nickname ?? '',
    // Naver does not say the contact e-mail was verified by us or for us: a hint only.
    email: r.email || null,
    emailVerified: false,
    phone: r.mobile ? r.mobile.replace(/\D/g, '') : null,
    birthday: r.birthday && /^\d{2}-\d{2}$/.test(r.birthday) ? r.birthday : null,
    birthYear: r.birthyear && /^\d{4}$/.test(r.birthyear) ? Number(r.birthyear) : null,
    gender: r.gender === 'M' ? 'male' : r.gender === 'F' ? 'female' : null,
  };
}

export function naverSocialProvider(options: NaverOptions): SocialProvider {
  const name: SocialProviderName = 'naver';
  const authBase = (options.authBaseUrl ?? NAVER_AUTH_BASE_URL).replace(/\/+$/, '');
  const apiBase = (options.apiBaseUrl ?? NAVER_API_BASE_URL).replace(/\/+$/, '');
  const net = clientOptions(new URL(authBase), options);
  // Naver publishes no discovery document: its endpoints are configured as documented.
  const config = new oidc.Configuration(
    { issuer: authBase, authorization_endpoint: `${authBase}/oauth2.0/authorize`, token_endpoint: `${authBase}/oauth2.0/token` },
    options.clientId,
    { client_secret: options.clientSecret },
    oidc.ClientSecretPost(options.clientSecret),
  );
  config[oidc.customFetch] = net[oidc.customFetch];
  config.timeout = net.timeout;
  if (net.insecure || new URL(apiBase).protocol === 'http:') oidc.allowInsecureRequests(config);

  return {
    name,
    authorizeUrl: async (state, redirectUri) =>
      oidc.buildAuthorizationUrl(config, { response_type: 'code', redirect_uri: redirectUri, state }).href,

    async exchange({ code, state, redirectUri }) {
      const callback = new URL(redirectUri);
      callback.search = '';
      callback.searchParams.set('code', code);
      callback.searchParams.set('state', state);
      let accessToken: string;
      try {
        // Naver's token endpoint wants the state too.
        const tokens = await oidc.authorizationCodeGrant(
          config,
          callback,
          { expectedState: state, idTokenExpected: false },
          { state },
        );
        accessToken = tokens.access_token;
      } catch (err) {
        throw naverTokenFailure(err);
      }
      let profile: NaverProfileResponse;
      try {
        const res = await oidc.fetchProtectedResource(config, accessToken, new URL(`${apiBase}/v1/nid/me`), 'GET');
        profile = (await res.json()) as NaverProfileResponse;
      } catch (err) {
        throw oauthFailure(name, err);
      }
      if (profile.resultcode !== '00' || !profile.response?.id) {
        throw new AppError(
          'SOCIAL_PROVIDER_ERROR',
          `naver: the profile API answered ${profile.resultcode} (${profile.message}).`,
          {
            provider: name,
            providerError: profile.resultcode,
          },
        );
      }
      return naverAccount(profile.response);
    },
  };
}

/**
 * Naver answers a bad code with HTTP 200 and `{ error: 'invalid_request', error_description }`, not
 * with a 400: openid-client then finds no access token. Both mean the code cannot be used.
 */
function naverTokenFailure(err: unknown): AppError {
  // openid-client wraps the check that failed; its cause carries the body it could not use.
  type Wrapped = { cause?: { body?: { error?: unknown }; cause?: { body?: { error?: unknown } } } };
  const body = (err as Wrapped)?.cause?.body ?? (err as Wrapped)?.cause?.cause?.body;
  const error = err instanceof oidc.ResponseBodyError ? err.error : typeof body?.error === 'string' ? body.error : undefined;
  if (error === 'invalid_request' || error === 'invalid_grant') {
    return new AppError('SOCIAL_CODE_INVALID', 'The authorization code is unknown, used or expired.', { provider: 'naver' });
  }
  if (error)
    return new AppError('SOCIAL_PROVIDER_ERROR', `naver: the token endpoint refused (${error}).`, {
      provider: 'naver',
      providerError: error,
    });
  return oauthFailure('naver', err);
}
