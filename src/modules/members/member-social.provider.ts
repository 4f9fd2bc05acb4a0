import { SOCIAL_PROVIDER_NAMES, type SocialProviderName } from '../../config.ts';

// SNS login through OAuth 2.0 / OpenID Connect, shaped like Kakao and Naver Login: our server hands
// out a state, the person approves on the provider's page, the browser comes back with a code, and
// our server exchanges the code for the account, server to server. The account is whoever the
// provider says it is (its subject); nothing the browser sends names it. Types only: the platform's
// Deps names them. The sandbox is in member-social.sandbox.ts; real providers are built from config
// (SOCIAL_PROVIDERS) in src/providers.ts.

/** The SNS logins Moa knows, by the name used in routes (/v1/members/social/{provider}/…). */
export const SOCIAL_PROVIDERS = SOCIAL_PROVIDER_NAMES;
export type { SocialProviderName };

/** What a provider says about the account. An e-mail is a hint, never a reason to link. */
export type SocialAccount = {
  /** The provider's subject (OIDC `sub`, Kakao `id`, Naver `response.id`), as the provider issued it. */
  providerUserId: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  // What a real provider shares when the person consented (Kakao /v2/user/me, Naver /v1/nid/me).
  /** digits only */
  phone?: string | null | undefined;
  /** MM-DD */
  birthday?: string | null | undefined;
  birthYear?: number | null | undefined;
  gender?: 'male' | 'female' | null | undefined;
};

/** What came back to the redirect URI with our state, and that state's redirect URI. */
export type SocialCallback = { code: string; state: string; redirectUri: string };

export type SocialProvider = {
  readonly name: SocialProviderName;
  /**
   * The provider page to send the browser to, for our single-use state. An adapter that needs a
   * PKCE verifier or a nonce derives it from the state (e.g. a keyed hash), so nothing more is stored.
   */
  authorizeUrl(state: string, redirectUri: string): Promise<string>;
  /** Exchanges the single-use code for the account, server to server. Unknown or used: SOCIAL_CODE_INVALID. */
  exchange(callback: SocialCallback): Promise<SocialAccount>;
};
