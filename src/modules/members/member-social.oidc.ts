import { createHmac } from 'node:crypto';
import * as oidc from 'openid-client';
import { AppError } from '../../platform/errors.ts';
import type { SocialAccount, SocialProvider, SocialProviderName } from './member-social.provider.ts';

// SNS login through OpenID Connect with openid-client: discovery, authorization code with PKCE (S256),
// state and nonce, and the ID token checked (signature against the provider's JWKS, issuer, audience,
// expiry, nonce). The account's id is the ID token's `sub`. Kakao Login is OIDC
// (https://developers.kakao.com/docs/latest/ko/kakaologin/rest-api, "OpenID Connect"); its profile
// comes from the user API (GET /v2/user/me), whose `id` must be that `sub`.

export const KAKAO_ISSUER = 'https://kauth.kakao.com';

export type OidcOptions = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /**
   * A server-side secret (e.g. derived from the master key): the PKCE verifier and the nonce are
   * HMACs of our single-use state under it, so nothing more is stored and the browser, which sees
   * the state, can derive neither.
   */
  stateSecret: Buffer;
  scope?: string | undefined;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
};

export const deriveFromState = (secret: Buffer, label: 'pkce' | 'nonce', state: string) =>
  createHmac('sha256', secret).update(`${label}\0${state}`).digest('base64url');

const providerError = (provider: SocialProviderName, why: string, details: Record<string, unknown> = {}) =>
  new AppError('SOCIAL_PROVIDER_ERROR', `${provider}: ${why}`, { provider, ...details });

/** An openid-client failure in our codes: a bad code is the person's; anything else is the provider's. */
export function oauthFailure(provider: SocialProviderName, err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    // RFC 6749 §5.2: invalid_grant is a code that is unknown, used, expired or not ours (PKCE).
    if (err.error === 'invalid_grant')
      return new AppError('SOCIAL_CODE_INVALID', 'The authorization code is unknown, used or expired.', { provider });
    return providerError(provider, `the token endpoint refused (${err.error}).`, { providerError: err.error });
  }
  const code = (err as { code?: unknown })?.code;
  return providerError(
    provider,
    `the login could not be completed (${typeof code === 'string' ? code : (err as Error)?.message}).`,
  );
}

/** openid-client options: our fetch and timeout; plain http only for a loopback test server. */
export function clientOptions(url: URL, options: { fetch?: typeof fetch | undefined; timeoutMs?: number | undefined }) {
  const f = options.fetch ?? fetch;
  return {
    [oidc.customFetch]: (input: string, init: oidc.CustomFetchOptions) => f(input, init as RequestInit),
    timeout: Math.ceil((options.timeoutMs ?? 10_000) / 1000),
    insecure: url.protocol === 'http:',
  };
}

/** Kakao's user API answer, as documented ("사용자 정보 가져오기"); only the fields we map. */
export type KakaoUserMe = {
  id: number | string;
  kakao_account?: {
    profile?: { nickname?: string };
    name?: string;
    email?: string;
    is_email_valid?: boolean;
    is_email_verified?: boolean;
    phone_number?: string;
    birthyear?: string;
    birthday?: string;
    gender?: 'female' | 'male';
  };
};

/** Kakao's profile in our terms. Phone numbers come as "+82 10-1234-5678". */
export function kakaoAccount(sub: string, me: KakaoUserMe, claims: Record<string, unknown> = {}): SocialAccount {
  const a = me.kakao_account ?? {};
  const emailUsable = Boolean(a.email) && a.is_email_valid !== false;
  const phone = a.phone_number ? a.phone_number.replace(/^\+82\s*/, '0').replace(/\D/g, '') : null;
  return {
    providerUserId: sub,
    name: a.name ?? a.profile?.nickname ?? (typeof claims.nickname === 'string' ? claims.nickname : ''),
    email: emailUsable ? a.email! : null,
    emailVerified: emailUsable && a.is_email_verified === true,
    phone,
    birthday: a.birthday && /^\d{4}$/.test(a.birthday) ? `${a.birthday.slice(0, 2)}-${a.birthday.slice(2)}` : null,
    birthYear: a.birthyear && /^\d{4}$/.test(a.birthyear) ? Number(a.birthyear) : null,
    gender: a.gender ?? null,
  };
}

/**
 * Kakao Login as an OIDC relying party. `userMeUrl` defaults to /v2/user/me on the origin of the
 * discovered userinfo endpoint (kapi.kakao.com for Kakao).
 */
export function kakaoSocialProvider(options: OidcOptions & { userMeUrl?: string | undefined }): SocialProvider {
  const name: SocialProviderName = 'kakao';
  const issuer = new URL(options.issuer);
  const net = clientOptions(issuer, options);
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc
      .discovery(issuer, options.clientId, { client_secret: options.clientSecret }, oidc.ClientSecretPost(options.clientSecret), {
        [oidc.customFetch]: net[oidc.customFetch],
        timeout: net.timeout,
        execute: [...(net.insecure ? [oidc.allowInsecureRequests] : []), oidc.enableNonRepudiationChecks],
      })
      .then((config) => {
        config.timeout = net.timeout;
        return config;
      })
      .catch((err: unknown) => {
        discovered = undefined; // try again on the next login
        throw providerError(name, `discovery at ${issuer.href} failed (${(err as Error).message}).`);
      });
    return discovered;
  };

  return {
    name,
    async authorizeUrl(state, redirectUri) {
      const config = await configuration();
      const challenge = await oidc.calculatePKCECodeChallenge(deriveFromState(options.stateSecret, 'pkce', state));
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: options.scope ?? 'openid',
        state,
        nonce: deriveFromState(options.stateSecret, 'nonce', state),
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).href;
    },

    async exchange({ code, state, redirectUri }) {
      const config = await configuration();
      const callback = new URL(redirectUri);
      callback.search = '';
      callback.searchParams.set('code', code);
      callback.searchParams.set('state', state);
      // RFC 9207: a server that sends `iss` back is checked for it. Our state is bound to this provider
      // in our database, which is what the iss check protects; the browser does not relay it to us.
      if (config.serverMetadata().authorization_response_iss_parameter_supported)
        callback.searchParams.set('iss', config.serverMetadata().issuer);
      let sub: string;
      let claims: Record<string, unknown>;
      let accessToken: string;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: deriveFromState(options.stateSecret, 'pkce', state),
          expectedState: state,
          expectedNonce: deriveFromState(options.stateSecret, 'nonce', state),
          idTokenExpected: true,
        });
        claims = tokens.claims() as Record<string, unknown>;
        sub = String(claims.sub);
        accessToken = tokens.access_token;
      } catch (err) {
        throw oauthFailure(name, err);
      }
      const userMeUrl = new URL(
        options.userMeUrl ?? new URL('/v2/user/me', config.serverMetadata().userinfo_endpoint ?? issuer).href,
      );
      let me: KakaoUserMe;
      try {
        const res = await oidc.fetchProtectedResource(config, accessToken, userMeUrl, 'GET');
        if (!res.ok) throw providerError(name, `the user API answered HTTP ${res.status}.`, { providerStatus: res.status });
        me = (await res.json()) as KakaoUserMe;
      } catch (err) {
        throw oauthFailure(name, err);
      }
      // The profile must be the ID token's subject: never trust a profile for someone else.
      if (String(me.id) !== sub) throw providerError(name, 'the user API answered for another account than the ID token.');
      return kakaoAccount(sub, me, claims);
    },
  };
}
