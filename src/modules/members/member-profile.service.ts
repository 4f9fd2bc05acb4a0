import { randomBytes } from 'node:crypto';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { hashPassword } from '../../platform/passwords.ts';
import { maskEmail, piiFor } from '../../platform/pii.ts';
import { enqueueMail } from '../messages/index.ts';
import { getTenant } from '../tenants/index.ts';
import { type CredentialsDeps, checkCredentials, type MemberAuth } from './member-sessions.service.ts';
import * as repo from './members.repository.ts';
import { checkPassword } from './members.rules.ts';
import type { TMember, TUpdateMeRequest } from './members.schemas.ts';
import { type MembersDeps, type Profile, profileIndexes, toMemberDto } from './members.service.ts';

// The member manages their own profile (issue 17 §3): nickname and address at once, a new e-mail
// only once the link mailed to it is opened, the password with the current one.

/** How long an e-mail confirmation link works. */
export const EMAIL_LINK_MS = 24 * 3_600_000;

type ProfileDeps = MembersDeps & Pick<Deps, 'outbox'>;

// Only a keyed hash of the link's token is stored (the 'email' kind, prefixed: never an address).
const linkHash = (deps: Pick<Deps, 'masterKey'>, tenantId: string, token: string) =>
  piiFor(deps.masterKey).hash(tenantId, 'email', `confirm:${token}`);

export type EmailConfirmation = { sentTo: string; expiresAt: string };

/**
 * PATCH /v1/me: nickname and address change at once; a new e-mail gets a single-use link (24 h) to
 * the brand's confirmation page (the policy's emailConfirmUrl) and changes only when it is opened.
 */
export async function updateMe(
  deps: ProfileDeps,
  tenantId: string,
  memberId: string,
  input: TUpdateMeRequest,
): Promise<{ member: TMember; emailConfirmation: EmailConfirmation | null }> {
  const pii = piiFor(deps.masterKey);
  const result = await withTransaction(deps.db, async (trx) => {
    const row = await repo.findMember(trx, tenantId, memberId, { forUpdate: true });
    if (row?.status !== 'active' || !row.profile_sealed)
      throw new AppError('MEMBER_NOT_ACTIVE', 'Only an active member can change the profile.');
    let updated = row;
    if (input.nickname !== undefined || input.address !== undefined) {
      const profile: Profile = {
        ...pii.open<Profile>(row.profile_sealed),
        ...(input.nickname !== undefined ? { nickname: input.nickname } : {}),
        ...(input.address !== undefined ? { address: input.address } : {}),
      };
      updated = await repo.updateMember(trx, tenantId, memberId, { profile_sealed: pii.seal(profile) });
    }
    let emailConfirmation: EmailConfirmation | null = null;
    if (input.email !== undefined) {
      const policy = await repo.policy(trx, tenantId);
      if (!policy.email_confirm_url)
        throw new AppError('CONFLICT', 'The brand has not set the page that confirms e-mail changes (emailConfirmUrl).', {
          rule: 'email_confirm_url_unset',
        });
      const now = deps.clock.now();
      const expiresAt = new Date(now.getTime() + EMAIL_LINK_MS);
      const token = `mec_${randomBytes(32).toString('base64url')}`;
      await repo.replaceEmailChange(trx, {
        tenant_id: tenantId,
        token_hash: linkHash(deps, tenantId, token),
        member_id: memberId,
        email_sealed: pii.seal(input.email),
        created_at: now,
        expires_at: expiresAt,
        used_at: null,
        revoked_at: null,
      });
      const brand = (await getTenant({ db: trx }, tenantId)).name;
      await enqueueMail(
        { db: trx, masterKey: deps.masterKey },
        {
          tenantId,
          to: input.email,
          subject: `[${brand}] 이메일 주소 변경 확인 · Confirm your new e-mail`,
          text: [
            `${brand} 회원 계정의 이메일 주소를 이 주소로 바꾸려면 24시간 안에 아래 링크를 여세요. 한 번만 쓸 수 있습니다.`,
            '요청하지 않았다면 이 메일을 무시하세요. 이메일 주소는 바뀌지 않습니다.',
            '',
            `${policy.email_confirm_url}#token=${token}`,
            '',
            `To make this the e-mail of your ${brand} account, open the link above within 24 hours (it works once).`,
            'If you did not ask for it, ignore this mail: nothing changes.',
          ].join('\n'),
        },
      );
      emailConfirmation = { sentTo: maskEmail(input.email), expiresAt: expiresAt.toISOString() };
    }
    return { member: toMemberDto(updated, deps), emailConfirmation };
  });
  if (result.emailConfirmation) deps.outbox.wake();
  return result;
}

/**
 * The link from the mail, posted by the brand's page with the member's session: used once, within
 * 24 hours, by the member who asked; the address is then the member's. EMAIL_LINK_NOT_USABLE otherwise.
 */
export async function confirmEmail(deps: MembersDeps, tenantId: string, memberId: string, token: string): Promise<TMember> {
  const pii = piiFor(deps.masterKey);
  return withTransaction(deps.db, async (trx) => {
    const now = deps.clock.now();
    const link = token.startsWith('mec_')
      ? await repo.consumeEmailChange(trx, tenantId, memberId, linkHash(deps, tenantId, token), now)
      : undefined;
    if (!link) throw new AppError('EMAIL_LINK_NOT_USABLE', 'This confirmation link cannot be used: change the e-mail again.');
    const row = await repo.findMember(trx, tenantId, memberId, { forUpdate: true });
    if (row?.status !== 'active' || !row.profile_sealed)
      throw new AppError('MEMBER_NOT_ACTIVE', 'Only an active member can change the e-mail.');
    const profile: Profile = { ...pii.open<Profile>(row.profile_sealed), email: pii.open<string>(link.email_sealed) };
    const updated = await repo.updateMember(trx, tenantId, memberId, {
      profile_sealed: pii.seal(profile),
      email_hash: profileIndexes(deps, tenantId, profile).email_hash,
    });
    return toMemberDto(updated, deps);
  });
}

/**
 * The password, changed with the current one: checked under the login's attempt counter and
 * lockout (a wrong one counts like a wrong login), then every other session of the member ends.
 */
export async function changePassword(
  deps: CredentialsDeps,
  tenantId: string,
  auth: MemberAuth,
  input: { currentPassword: string; newPassword: string; ip?: string },
): Promise<void> {
  const loginId = auth.member.login_id;
  if (!loginId) throw new AppError('INVALID_CREDENTIALS', 'The login ID or the password is wrong.');
  checkPassword(input.newPassword, loginId, 'newPassword');
  await checkCredentials(deps, tenantId, loginId, input.currentPassword, input.ip);
  const passwordHash = await hashPassword(input.newPassword); // slow on purpose: outside the transaction
  await withTransaction(deps.db, async (trx) => {
    await repo.updateMember(trx, tenantId, auth.member.id, {
      password_hash: passwordHash,
      password_changed_at: deps.clock.now(),
    });
    await repo.revokeOtherSessions(trx, tenantId, auth.member.id, auth.sessionId);
    await enqueueEvent(trx, tenantId, { topic: 'member.password_changed', payload: { memberId: auth.member.id } });
  });
}
