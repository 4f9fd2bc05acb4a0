import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fromDatabaseError } from '../../platform/errors.ts';
import { randomToken } from '../../platform/ids.ts';
import {
  type CredentialsDeps,
  checkCredentials,
  type LoginResult,
  type MemberAuth,
  openSession,
} from './member-sessions.service.ts';
import type { SocialAccount, SocialProvider, SocialProviderName } from './member-social.provider.ts';
import * as socialRepo from './member-social.repository.ts';
import * as repo from './members.repository.ts';
import type { MembersDeps as BaseDeps } from './members.service.ts';

// SNS login and linking. A link is made only from a signed-in session whose member re-entered the
// password (fresh authentication), with the provider's consent; never because an e-mail matches.

const STATE_TTL_MS = 10 * 60_000;

type MembersDeps = BaseDeps & Pick<Deps, 'providers'>;

/** A provider configured in SOCIAL_PROVIDERS (built once in src/providers.ts); any other is not found. */
export function socialProvider(deps: Pick<Deps, 'providers'>, name: SocialProviderName): SocialProvider {
  const provider = deps.providers.social[name];
  if (!provider) throw new AppError('NOT_FOUND', `SNS login with ${name} is not enabled on this server.`, { provider: name });
  return provider;
}

export type SocialStart = { state: string; authorizeUrl: string; expiresAt: string };

async function start(
  deps: MembersDeps,
  tenantId: string,
  provider: SocialProviderName,
  redirectUri: string,
  memberId: string | null,
): Promise<SocialStart> {
  const adapter = socialProvider(deps, provider);
  const state = randomToken(32);
  const expiresAt = new Date(deps.clock.now().getTime() + STATE_TTL_MS);
  await socialRepo.insertState(deps.db, {
    tenant_id: tenantId,
    state,
    provider,
    intent: memberId ? 'link' : 'login',
    member_id: memberId,
    redirect_uri: redirectUri,
    expires_at: expiresAt,
    used_at: null,
  });
  return { state, authorizeUrl: await adapter.authorizeUrl(state, redirectUri), expiresAt: expiresAt.toISOString() };
}

/** Starts an SNS login: the provider page to send the person to, with our single-use state. */
export const startSocialLogin = (deps: MembersDeps, tenantId: string, provider: SocialProviderName, redirectUri: string) =>
  start(deps, tenantId, provider, redirectUri, null);

/** Starts linking an SNS account to the signed-in member, after the password is entered again. */
export async function startSocialLink(
  deps: MembersDeps & CredentialsDeps,
  tenantId: string,
  auth: MemberAuth,
  provider: SocialProviderName,
  redirectUri: string,
  password: string,
  ip?: string,
) {
  socialProvider(deps, provider);
  if (!auth.member.login_id) throw new AppError('INVALID_CREDENTIALS', 'The password is wrong.');
  await checkCredentials(deps, tenantId, auth.member.login_id, password, ip);
  return start(deps, tenantId, provider, redirectUri, auth.member.id);
}

type Callback = { state: string; code?: string | undefined; error?: string | undefined };

/** The account the provider issued for this code; the subject comes from the provider, never the browser. */
async function exchange(deps: MembersDeps, provider: SocialProviderName, cb: Callback, redirectUri: string) {
  if (cb.error || !cb.code)
    throw new AppError('SOCIAL_DENIED', `The person did not approve on ${provider}${cb.error ? ` (${cb.error})` : ''}.`);
  return socialProvider(deps, provider).exchange({ code: cb.code, state: cb.state, redirectUri });
}

const stateInvalid = () =>
  new AppError('SOCIAL_STATE_INVALID', 'The SNS login state is unknown, expired or already used: start again.');

/** Finishes an SNS login: the linked member is logged in; an unlinked account is SOCIAL_NOT_LINKED. */
export async function finishSocialLogin(
  deps: MembersDeps,
  tenantId: string,
  provider: SocialProviderName,
  cb: Callback & { userAgent?: string | undefined },
): Promise<LoginResult> {
  if (deps.db.isTransaction) throw new Error('finishSocialLogin calls the SNS provider: it must not run inside a transaction');
  socialProvider(deps, provider);
  const state = await socialRepo.useState(deps.db, tenantId, cb.state, provider, 'login', deps.clock.now());
  if (!state) throw stateInvalid();
  const account = await exchange(deps, provider, cb, state.redirect_uri);
  const link = await socialRepo.findLink(deps.db, tenantId, provider, account.providerUserId);
  if (!link) throw new AppError('SOCIAL_NOT_LINKED', `No member is linked to this ${provider} account.`, { provider });
  const member = await repo.findMember(deps.db, tenantId, link.member_id);
  if (member?.status === 'dormant')
    throw new AppError('MEMBER_DORMANT', 'The account is dormant: reactivate it with an identity verification.');
  if (member?.status !== 'active')
    throw new AppError('SOCIAL_NOT_LINKED', `No member is linked to this ${provider} account.`, { provider });
  await socialRepo.touchLink(deps.db, tenantId, provider, account.providerUserId);
  return openSession(deps, tenantId, member.id, cb.userAgent);
}

/**
 * Finishes linking, step 1, never inside a transaction (the provider's token and user-info requests
 * are network calls): the state must be the one this member started; it is used up (one
 * statement, committed on its own) before its code is exchanged, so a code is exchanged once. A
 * retry of the same request after this step finds the state used: the member starts again.
 */
export async function exchangeSocialLink(
  deps: MembersDeps,
  tenantId: string,
  auth: MemberAuth,
  provider: SocialProviderName,
  cb: Callback,
): Promise<SocialAccount> {
  if (deps.db.isTransaction) throw new Error('exchangeSocialLink calls the SNS provider: it must not run inside a transaction');
  socialProvider(deps, provider);
  const state = await socialRepo.useState(deps.db, tenantId, cb.state, provider, 'link', deps.clock.now(), auth.member.id);
  if (!state) throw stateInvalid();
  return exchange(deps, provider, cb, state.redirect_uri);
}

/** Finishes linking, step 2 (in the idempotent write's transaction): the provider's account is linked. */
export async function linkSocialAccount(
  deps: MembersDeps,
  tenantId: string,
  auth: MemberAuth,
  provider: SocialProviderName,
  account: SocialAccount,
) {
  const existing = await socialRepo.findLink(deps.db, tenantId, provider, account.providerUserId);
  if (existing) {
    throw new AppError(
      'SOCIAL_ALREADY_LINKED',
      `This ${provider} account is linked to ${existing.member_id === auth.member.id ? 'you' : 'another member'} already.`,
      { provider },
    );
  }
  try {
    await socialRepo.insertLink(deps.db, tenantId, auth.member.id, provider, account.providerUserId);
  } catch (err) {
    // The unique keys: another request linked the same account, or this member already has this provider.
    if (fromDatabaseError(err)?.details?.constraint)
      throw new AppError('SOCIAL_ALREADY_LINKED', `You have a ${provider} link already.`, { provider });
    throw err;
  }
  return listSocialLinks(deps, tenantId, auth.member.id);
}

/** Finishes linking (both steps, for callers without an Idempotency-Key). */
export async function finishSocialLink(
  deps: MembersDeps,
  tenantId: string,
  auth: MemberAuth,
  provider: SocialProviderName,
  cb: Callback,
) {
  return linkSocialAccount(deps, tenantId, auth, provider, await exchangeSocialLink(deps, tenantId, auth, provider, cb));
}

export async function listSocialLinks(deps: MembersDeps, tenantId: string, memberId: string) {
  return (await socialRepo.linksOf(deps.db, tenantId, memberId)).map((l) => ({
    provider: l.provider as SocialProviderName,
    linkedAt: l.linked_at.toISOString(),
    lastLoginAt: l.last_login_at?.toISOString() ?? null,
  }));
}

/** Unlinks a provider, unless that would leave the member with no way to log in. */
export async function unlinkSocial(deps: MembersDeps, tenantId: string, auth: MemberAuth, provider: SocialProviderName) {
  return withTransaction(deps.db, async (trx) => {
    const member = (await repo.findMember(trx, tenantId, auth.member.id, { forUpdate: true }))!;
    const links = await socialRepo.linksOf(trx, tenantId, member.id);
    if (!links.some((l) => l.provider === provider)) throw new AppError('NOT_FOUND', `No ${provider} link.`);
    if (!member.password_hash && links.length === 1) {
      throw new AppError(
        'SOCIAL_LAST_LOGIN_METHOD',
        'This is the member’s only way to log in: set a password or link another account first.',
      );
    }
    await socialRepo.deleteLinks(trx, tenantId, member.id, provider);
    return listSocialLinks({ ...deps, db: trx }, tenantId, member.id);
  });
}
