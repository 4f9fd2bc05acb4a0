import { withTransaction } from '../../platform/db.ts';
import { AppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { piiFor } from '../../platform/pii.ts';
import { useVerification } from '../identity/index.ts';
import { accountsOfOwner } from '../ledger/index.ts';
import { type CredentialsDeps, checkCredentials, type LoginResult, openSession } from './member-sessions.service.ts';
import * as socialRepo from './member-social.repository.ts';
import * as repo from './members.repository.ts';
import { birthMonthDay } from './members.rules.ts';
import type { TWithdrawalPreview } from './members.schemas.ts';
import { type MembersDeps, type Profile, profileIndexes, toMemberDto } from './members.service.ts';
import type { MemberRow } from './members.tables.ts';

// Withdrawal, purge, dormancy and reactivation: where personal data moves and goes.

const DAY = 86_400_000;

/** A job run: at most `limit` members, of one tenant or of all. */
export type JobOptions = { limit?: number; tenantId?: string };

/** What withdrawing takes away, shown before the member confirms. */
export async function withdrawalPreview(deps: MembersDeps, tenantId: string, member: MemberRow): Promise<TWithdrawalPreview> {
  const policy = await repo.policy(deps.db, tenantId);
  const now = deps.clock.now().getTime();
  const accounts = await accountsOfOwner(deps, tenantId, 'member', member.id);
  return {
    lost: accounts
      .filter((a) => a.balance.posted !== 0)
      .map((a) => ({ accountId: a.id, ledger: a.ledger, kind: a.kind, balance: a.balance.posted })),
    rejoinBlockedUntil: member.ci_hash ? new Date(now + policy.rejoin_block_days * DAY).toISOString() : null,
    purgeAfter: new Date(now + policy.purge_after_days * DAY).toISOString(),
  };
}

/**
 * Withdrawal (회원 탈퇴): the account stops at once (sessions end, login fails), the person's CI hash
 * and the date go to the re-sign-up block, and the purge job removes the personal data after the
 * policy's days. member.withdrawn goes out for the currency modules to settle balances.
 */
export async function withdraw(deps: MembersDeps, tenantId: string, memberId: string, reason?: string) {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.findMember(trx, tenantId, memberId, { forUpdate: true });
    if (row?.status !== 'active') throw new AppError('MEMBER_NOT_ACTIVE', 'Only an active member can withdraw.');
    const policy = await repo.policy(trx, tenantId);
    const now = deps.clock.now();
    const updated = await repo.updateMember(trx, tenantId, memberId, { status: 'withdrawn', withdrawn_at: now });
    await repo.revokeSessions(trx, tenantId, memberId);
    await socialRepo.deleteLinks(trx, tenantId, memberId);
    if (row.ci_hash)
      await repo.upsertRejoinBlock(trx, tenantId, row.ci_hash, now, new Date(now.getTime() + policy.rejoin_block_days * DAY));
    await enqueueEvent(trx, tenantId, { topic: 'member.withdrawn', payload: { memberId, reason: reason ?? null } });
    return toMemberDto(updated, deps);
  });
}

/**
 * The purge job: withdrawn members past the policy's days lose everything personal (profile,
 * login, password, hashes, sessions, pending e-mail changes). Kept: the id (the ledger's owner),
 * dates, the consents and their history.
 */
export async function purgeWithdrawn(deps: MembersDeps, options: JobOptions = {}): Promise<number> {
  const due = await repo.dueForPurge(deps.db, deps.clock.now(), options.limit ?? 500, options.tenantId);
  for (const m of due) {
    await withTransaction(deps.db, async (trx) => {
      await repo.updateMember(trx, m.tenant_id, m.id, {
        profile_sealed: null,
        login_id: null,
        password_hash: null,
        ci_hash: null,
        name_phone_hash: null,
        phone_hash: null,
        email_hash: null,
        birth_md: 0,
        verification_id: null,
        purged_at: deps.clock.now(),
      });
      await repo.deleteSessions(trx, m.tenant_id, m.id);
      await repo.takeDormant(trx, m.tenant_id, m.id);
      await repo.deleteEmailChanges(trx, m.tenant_id, m.id);
    });
  }
  return due.length;
}

/**
 * The dormancy job (휴면 전환). 30 days before, a member.dormancy_notice event goes out once (any
 * activity since resets it). At the policy's days without activity the profile moves to the dormant
 * store, sealed under its own key, and every session ends. The CI hash stays, so the person still
 * cannot open a second account, and can come back.
 */
export async function runDormancy(deps: MembersDeps, options: JobOptions = {}): Promise<{ noticed: number; dormant: number }> {
  const now = deps.clock.now();
  const limit = options.limit ?? 500;
  const notices = await repo.dueForDormancyNotice(deps.db, now, limit, options.tenantId);
  let noticed = 0;
  for (const m of notices) {
    await withTransaction(deps.db, async (trx) => {
      if (!(await repo.markDormancyNoticed(trx, m.tenant_id, m.id, now))) return;
      const dormantOn = new Date(m.last_active_at.getTime() + Number(m.dormancy_days) * DAY).toISOString();
      await enqueueEvent(trx, m.tenant_id, { topic: 'member.dormancy_notice', payload: { memberId: m.id, dormantOn } });
      noticed++;
    });
  }
  const due = await repo.dueForDormancy(deps.db, now, limit, options.tenantId);
  let dormant = 0;
  for (const m of due) {
    await withTransaction(deps.db, async (trx) => {
      const row = await repo.findMember(trx, m.tenant_id, m.id, { forUpdate: true });
      if (row?.status !== 'active' || !row.profile_sealed) return;
      const profile = piiFor(deps.masterKey).open<Profile>(row.profile_sealed);
      await repo.putDormant(trx, m.tenant_id, m.id, piiFor(deps.masterKey, 'dormant').seal(profile));
      await repo.updateMember(trx, m.tenant_id, m.id, { status: 'dormant', dormant_at: now, profile_sealed: null, birth_md: 0 });
      await repo.revokeSessions(trx, m.tenant_id, m.id);
      // A pending e-mail change holds an address: it goes too (the member changes it again after reactivation).
      await repo.deleteEmailChanges(trx, m.tenant_id, m.id);
      await enqueueEvent(trx, m.tenant_id, { topic: 'member.dormant', payload: { memberId: m.id } });
      dormant++;
    });
  }
  return { noticed, dormant };
}

/**
 * Reactivation (휴면 해제): the login ID and password, and a `reactivate` verification of the same
 * person (CI, or for a member who signed up unverified, the same name and phone). The profile comes
 * back from the dormant store and the member is logged in.
 */
export async function reactivate(
  deps: CredentialsDeps,
  tenantId: string,
  input: { loginId: string; password: string; verificationId: string; userAgent?: string | undefined; ip?: string },
): Promise<LoginResult> {
  const row = await checkCredentials(deps, tenantId, input.loginId, input.password, input.ip);
  if (row.status !== 'dormant')
    throw new AppError('CONFLICT', 'The account is not dormant: log in as usual.', { status: row.status });
  await withTransaction(deps.db, async (trx) => {
    const member = (await repo.findMember(trx, tenantId, row.id, { forUpdate: true }))!;
    if (member.status !== 'dormant') return; // reactivated meanwhile
    const used = await useVerification({ ...deps, db: trx }, tenantId, input.verificationId, 'reactivate', `member:${member.id}`);
    const sealed = await repo.takeDormant(trx, tenantId, member.id);
    const profile = piiFor(deps.masterKey, 'dormant').open<Profile>(sealed!);
    const samePerson = member.ci_hash
      ? member.ci_hash === used.ciHash
      : member.name_phone_hash ===
        profileIndexes(deps, tenantId, { ...profile, name: used.identity.name, phone: used.identity.phone }).name_phone_hash;
    if (!samePerson)
      throw new AppError('VERIFICATION_NOT_USABLE', 'The verified person is not this member.', {
        verificationId: input.verificationId,
        why: 'other_person',
      });
    await repo.updateMember(trx, tenantId, member.id, {
      status: 'active',
      dormant_at: null,
      profile_sealed: piiFor(deps.masterKey).seal(profile),
      ci_hash: used.ciHash,
      birth_md: birthMonthDay(profile.birthDate),
    });
    await enqueueEvent(trx, tenantId, { topic: 'member.reactivated', payload: { memberId: member.id } });
  });
  return openSession(deps, tenantId, row.id, input.userAgent);
}
