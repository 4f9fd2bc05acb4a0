import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { randomToken } from '../../platform/ids.ts';
import { piiFor } from '../../platform/pii.ts';
import type { Db } from '../../platform/db.ts';
import { sql } from 'kysely';

// SNS login through OAuth 2.0, shaped like Naver, Kakao and PAYCO Login: our server hands out a
// state, the person approves on the provider's page, the browser comes back with a code, and our
// server exchanges the code for the account, server to server.

export const SOCIAL_PROVIDERS = ['naver', 'kakao', 'payco'] as const;
export type SocialProviderName = (typeof SOCIAL_PROVIDERS)[number];

/**
 * What a provider says about the account. The id is the provider's (an ID token's `sub`, a profile's
 * `id`), never the browser's. An e-mail is a hint, never a reason to link; the optional profile
 * fields are what the provider shares when the person consented.
 */
export type SocialAccount = {
  providerUserId: string;
  name: string;
  email: string | null;
  emailVerified: boolean;
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
  authorizeUrl(state: string, redirectUri: string): Promise<string>;
  /** Exchanges a single-use code for the account (server to server). */
  exchange(callback: SocialCallback): Promise<SocialAccount>;
};

/** The sandbox provider's test accounts (the same for each provider, ids prefixed by it). */
export const SANDBOX_SOCIAL_ACCOUNTS = [
  { key: 'hong', id: '10001', name: '홍길동', email: 'gildong@example.com', emailVerified: true },
  { key: 'kim', id: '10002', name: '김민지', email: 'minji@example.com', emailVerified: false },
] as const;

/**
 * The sandbox OAuth provider, the default until real client ids are configured: its authorize page
 * is served by Moa (/sandbox/oauth/{provider}/authorize) and its codes live in social_sandbox_code.
 */
export function sandboxSocialProvider(deps: Pick<Deps, 'db' | 'masterKey'>, name: SocialProviderName): SocialProvider {
  return {
    name,
    authorizeUrl: async (state, redirectUri) =>
      `/sandbox/oauth/${name}/authorize?${new URLSearchParams({ response_type: 'code', state, redirect_uri: redirectUri })}`,
    async exchange({ code }) {
      const row = await deps.db
        .updateTable('social_sandbox_code')
        .set({ used_at: sql<Date>`now()` })
        .where('code', '=', code)
        .where('provider', '=', name)
        .where('used_at', 'is', null)
        .where('created_at', '>', sql<Date>`now() - interval '10 minutes'`)
        .returning('account_sealed')
        .executeTakeFirst();
      if (!row) throw new AppError('SOCIAL_CODE_INVALID', 'The authorization code is unknown, used or expired.');
      return piiFor(deps.masterKey).open<SocialAccount>(row.account_sealed);
    },
  };
}

/** What the sandbox page does on approval: a code for the chosen (or typed) test account. */
export async function issueSandboxCode(deps: { db: Db; masterKey: Buffer }, provider: SocialProviderName, account: SocialAccount): Promise<string> {
  const code = randomToken(32);
  await deps.db
    .insertInto('social_sandbox_code')
    .values({ code, provider, account_sealed: piiFor(deps.masterKey).seal(account) })
    .execute();
  return code;
}
