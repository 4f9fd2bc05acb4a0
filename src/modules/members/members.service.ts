import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError, fromDatabaseError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { resetAttempts } from '../../platform/limits.ts';
import { pageOf } from '../../platform/pages.ts';
import { hashPassword } from '../../platform/passwords.ts';
import { isKoreanMobile, maskEmail, maskName, maskPhone, normalizePhone, piiFor } from '../../platform/pii.ts';
import { txMemo } from '../../platform/tx-memo.ts';
import { recordAccess } from '../audit/index.ts';
import { koreanAge, type UsedVerification, useVerification, type VerifiedIdentity } from '../identity/index.ts';
import * as repo from './members.repository.ts';
import { birthMonthDay, checkPassword, LOGIN_ID, maskLoginId, normalizeLoginId } from './members.rules.ts';
import type { TAddress, TMember, TMemberListQuery, TMemberPolicy, TSignUpRequest, TUnmaskedMember } from './members.schemas.ts';
import {
  CONSENT_KINDS,
  type ConsentChannel,
  type ConsentKind,
  type Consents,
  type MemberPolicyRow,
  type MemberRow,
} from './members.tables.ts';

export type MembersDeps = Pick<Deps, 'db' | 'clock' | 'masterKey' | 'log'>;

/** Login attempts are counted per login ID (platform/limits.ts) under a keyed hash, so IDs that exist and IDs that do not count alike. */
export const LOGIN_ATTEMPTS = 'member_login';
export const loginAttemptSubject = (deps: Pick<Deps, 'masterKey'>, tenantId: string, loginId: string) =>
  piiFor(deps.masterKey).hash(tenantId, 'login', normalizeLoginId(loginId));

/** What the member record holds of the person, sealed. */
export type Profile = {
  name: string;
  phone: string | null;
  email: string | null;
  birthDate: string | null;
  gender: 'male' | 'female' | null;
  nationality: VerifiedIdentity['nationality'] | null;
  carrier: VerifiedIdentity['carrier'];
  /** Set by the member (PATCH /v1/me). */
  nickname?: string | null;
  address?: TAddress | null;
};

/** The consents as the API shows them: the channels added later (messenger, night) read as not given. */
export const currentConsents = (c: Consents): Required<Consents> & { marketing: Required<Consents['marketing']> } => ({
  terms: c.terms,
  privacy: c.privacy,
  age14: c.age14,
  marketing: { sms: c.marketing.sms, email: c.marketing.email, push: c.marketing.push, messenger: c.marketing.messenger ?? null },
  night: c.night ?? null,
});

/** The history rows of consents given at once (sign-up, import): one per consent given. */
export function consentRowsOf(c: Consents, at: Date, channel: ConsentChannel) {
  const cur = currentConsents(c);
  const given: Record<ConsentKind, string | null> = {
    terms: cur.terms,
    privacy: cur.privacy,
    age14: cur.age14,
    marketing_sms: cur.marketing.sms,
    marketing_messenger: cur.marketing.messenger,
    marketing_push: cur.marketing.push,
    marketing_email: cur.marketing.email,
    night: cur.night,
  };
  return CONSENT_KINDS.filter((k) => given[k] !== null).map((consent) => ({
    consent,
    granted: true,
    at,
    channel,
    operator_id: null,
    reason: null,
  }));
}

/** 06236 서울 강남구 ***: the postal code and the first two words of the address. */
export const maskAddress = (a: TAddress) => `${a.postalCode} ${a.line1.split(/\s+/).slice(0, 2).join(' ')} ***`;

export function toMemberDto(row: MemberRow, deps: Pick<Deps, 'masterKey'>): TMember {
  const p = row.profile_sealed ? piiFor(deps.masterKey).open<Profile>(row.profile_sealed) : null;
  return {
    id: row.id,
    status: row.status,
    loginId: row.login_id,
    verified: row.ci_hash !== null,
    name: p ? maskName(p.name) : null,
    phone: p?.phone ? maskPhone(p.phone) : null,
    email: p?.email ? maskEmail(p.email) : null,
    birthYear: p?.birthDate ? Number(p.birthDate.slice(0, 4)) : null,
    gender: p?.gender ?? null,
    grade: row.grade,
    nickname: p?.nickname ?? null,
    address: p?.address ? maskAddress(p.address) : null,
    consents: currentConsents(row.consents),
    joinedAt: row.joined_at.toISOString(),
    lastActiveAt: row.last_active_at.toISOString(),
    withdrawnAt: row.withdrawn_at?.toISOString() ?? null,
  };
}

const toPolicyDto = (p: MemberPolicyRow): TMemberPolicy => ({
  allowUnverified: p.allow_unverified,
  minAge: p.min_age,
  rejoinBlockDays: p.rejoin_block_days,
  dormancyDays: p.dormancy_days,
  purgeAfterDays: p.purge_after_days,
  maxFailedLogins: p.max_failed_logins,
  lockoutMinutes: p.lockout_minutes,
  emailConfirmUrl: p.email_confirm_url,
});

export const getPolicy = async (deps: Pick<Deps, 'db'>, tenantId: string) => toPolicyDto(await repo.policy(deps.db, tenantId));

export async function updatePolicy(deps: Pick<Deps, 'db'>, tenantId: string, p: TMemberPolicy): Promise<TMemberPolicy> {
  await repo.policy(deps.db, tenantId);
  return toPolicyDto(
    await repo.updatePolicy(deps.db, tenantId, {
      allow_unverified: p.allowUnverified,
      min_age: p.minAge,
      rejoin_block_days: p.rejoinBlockDays,
      dormancy_days: p.dormancyDays,
      purge_after_days: p.purgeAfterDays,
      max_failed_logins: p.maxFailedLogins,
      lockout_minutes: p.lockoutMinutes,
      ...(p.emailConfirmUrl !== undefined ? { email_confirm_url: p.emailConfirmUrl } : {}),
    }),
  );
}

/** Keyed hashes of a profile: how members are found by phone, e-mail or name + phone. */
/** What a member is found by, without opening the profile: keyed hashes, and the birthday's month and day. */
export function profileIndexes(deps: Pick<Deps, 'masterKey'>, tenantId: string, p: Profile) {
  const pii = piiFor(deps.masterKey);
  return {
    phone_hash: p.phone ? pii.hash(tenantId, 'phone', p.phone) : null,
    email_hash: p.email ? pii.hash(tenantId, 'email', p.email.toLowerCase()) : null,
    name_phone_hash: p.phone
      ? pii.hash(tenantId, 'name-phone', `${p.name.normalize('NFC').replace(/\s+/g, '')}|${p.phone}`)
      : null,
    birth_md: birthMonthDay(p.birthDate),
  };
}

/** The unique indexes that stand for business rules, as the rejection each one means. */
export function memberConflict(err: unknown): AppError | undefined {
  const mapped = fromDatabaseError(err);
  switch (mapped?.code === 'CONFLICT' ? mapped.details?.constraint : undefined) {
    case 'member_one_per_person':
      return new AppError('ALREADY_MEMBER', 'This person already has an account with the brand.');
    case 'member_one_per_name_phone':
      return new AppError('ALREADY_MEMBER', 'An account with this name and phone already exists.');
    case 'member_login_id':
      return new AppError('LOGIN_ID_TAKEN', 'This login ID is taken.');
    default:
      return undefined;
  }
}

function consentsOf(input: TSignUpRequest['consents'], at: string): Consents {
  const missing = (['terms', 'privacy', 'age14'] as const).filter((k) => !input[k]);
  if (missing.length) throw new AppError('CONSENT_REQUIRED', `Required consents missing: ${missing.join(', ')}.`, { missing });
  const m = input.marketing;
  return {
    terms: at,
    privacy: at,
    age14: at,
    marketing: {
      sms: m.sms ? at : null,
      email: m.email ? at : null,
      push: m.push ? at : null,
      messenger: m.messenger ? at : null,
    },
    night: input.night ? at : null,
  };
}

/**
 * Signs a person up: through a verified sign-up verification (name, birth date, gender and phone
 * come from it) or, where the brand allows it, without one. One active or dormant account per
 * person (CI) and per name + phone, enforced by unique indexes, so two racing sign-ups of one
 * person make exactly one account.
 */
export async function signUp(deps: MembersDeps, tenantId: string, input: TSignUpRequest): Promise<TMember> {
  const loginId = normalizeLoginId(input.loginId);
  if (!LOGIN_ID.test(loginId)) throw fieldError('loginId', '4-20 characters: a letter, then letters, digits, _ . -');
  checkPassword(input.password, loginId);
  const now = deps.clock.now();
  const consents = consentsOf(input.consents, now.toISOString());
  const passwordHash = await hashPassword(input.password); // slow on purpose: outside the transaction

  return withTransaction(deps.db, async (trx) => {
    const policy = await repo.policy(trx, tenantId);
    const id = newId('mbr');
    let profile: Profile;
    let ciHash: string | null = null;
    let verificationId: string | null = null;
    if (input.verificationId) {
      const used = await useVerification({ ...deps, db: trx }, tenantId, input.verificationId, 'signup', `member:${id}`);
      const v = used.identity;
      profile = {
        name: v.name,
        phone: v.phone,
        email: input.email ?? null,
        birthDate: v.birthDate,
        gender: v.gender,
        nationality: v.nationality,
        carrier: v.carrier,
      };
      ciHash = used.ciHash;
      verificationId = used.id;
      const block = await repo.activeRejoinBlock(trx, tenantId, ciHash, now);
      if (block) {
        throw new AppError(
          'REJOIN_BLOCKED',
          `This person withdrew on ${block.withdrawn_at.toISOString().slice(0, 10)}; sign-up is possible again from ${block.blocked_until.toISOString()}.`,
          {
            blockedUntil: block.blocked_until.toISOString(),
          },
        );
      }
    } else {
      if (!policy.allow_unverified)
        throw new AppError('VERIFICATION_REQUIRED', 'This brand signs members up through identity verification only.');
      if (!input.name) throw fieldError('name', 'required without a verification');
      const phone = normalizePhone(input.phone ?? '');
      if (!isKoreanMobile(phone)) throw fieldError('phone', 'a Korean mobile number (010…), required without a verification');
      profile = {
        name: input.name,
        phone,
        email: input.email ?? null,
        birthDate: input.birthDate ?? null,
        gender: null,
        nationality: null,
        carrier: null,
      };
    }
    if (profile.birthDate) {
      const age = koreanAge(profile.birthDate, now);
      if (age < policy.min_age) {
        throw new AppError('UNDER_AGE', `Members must be at least ${policy.min_age}.`, { age, minAge: policy.min_age });
      }
    }

    let row: MemberRow;
    try {
      row = await repo.insertMember(trx, {
        tenant_id: tenantId,
        id,
        login_id: loginId,
        password_hash: passwordHash,
        profile_sealed: piiFor(deps.masterKey).seal(profile),
        ci_hash: ciHash,
        ...profileIndexes(deps, tenantId, profile),
        verification_id: verificationId,
        grade: null,
        consents,
        dormancy_noticed_at: null,
        dormant_at: null,
        withdrawn_at: null,
        purged_at: null,
        locked_until: null,
      });
    } catch (err) {
      throw memberConflict(err) ?? err;
    }
    await repo.appendConsents(trx, tenantId, id, consentRowsOf(consents, now, 'app'));
    await enqueueEvent(trx, tenantId, { topic: 'member.joined', payload: { memberId: id, verified: ciHash !== null } });
    return toMemberDto(row, deps);
  });
}

/** A page of the brand's members (personal data masked), newest first, filtered. */
export async function listMembers(deps: Pick<Deps, 'db' | 'masterKey'>, tenantId: string, q: TMemberListQuery) {
  const rows = await repo.listMembers(deps.db, tenantId, {
    status: q.status,
    grade: q.grade,
    joinedFrom: q.joinedFrom === undefined ? undefined : new Date(q.joinedFrom),
    joinedTo: q.joinedTo === undefined ? undefined : new Date(q.joinedTo),
    consent: q.consent,
    before: q.cursor,
    limit: q.limit + 1,
  });
  return pageOf(rows, q.limit, (r) => toMemberDto(r, deps));
}

export async function getMember(deps: Pick<Deps, 'db' | 'masterKey'>, tenantId: string, id: string): Promise<TMember> {
  const row = await repo.findMember(deps.db, tenantId, id);
  if (!row) throw new AppError('NOT_FOUND', `No member ${id}.`);
  return toMemberDto(row, deps);
}

/**
 * A member's personal data unmasked, for an operator (or the brand's server key) that gives a
 * reason: one row of the personal-data access log, in the same transaction as the read.
 */
export async function unmaskMember(
  deps: Pick<Deps, 'db' | 'masterKey'>,
  tenantId: string,
  id: string,
  who: { actorId: string; ip: string; reason: string; requestId?: string },
): Promise<TUnmaskedMember> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.findMember(trx, tenantId, id);
    if (!row) throw new AppError('NOT_FOUND', `No member ${id}.`);
    const p = row.profile_sealed ? piiFor(deps.masterKey).open<Profile>(row.profile_sealed) : null;
    const access = await recordAccess(trx, tenantId, {
      operatorId: who.actorId,
      ip: who.ip,
      action: 'unmask',
      memberIds: [id],
      fields: ['name', 'phone', 'email', 'birthDate', 'loginId', 'address'],
      reason: who.reason,
      requestId: who.requestId,
    });
    return {
      id,
      loginId: row.login_id,
      name: p?.name ?? null,
      phone: p?.phone ?? null,
      email: p?.email ?? null,
      birthDate: p?.birthDate ?? null,
      address: p?.address ?? null,
      accessLogSeq: access.seq,
    };
  });
}

/**
 * The verified person's account: by CI, or else an account opened without verification (an
 * unverified sign-up or an import) with the same name and phone.
 */
async function accountOfPerson(
  deps: Pick<Deps, 'db' | 'masterKey'>,
  tenantId: string,
  used: UsedVerification,
  options: { forUpdate?: boolean } = {},
) {
  const byCi = await repo.findByCiHash(deps.db, tenantId, used.ciHash, options);
  if (byCi || !used.identity.phone) return byCi;
  const person: Profile = {
    name: used.identity.name,
    phone: used.identity.phone,
    email: null,
    birthDate: null,
    gender: null,
    nationality: null,
    carrier: null,
  };
  return repo.findUnverifiedByNamePhone(deps.db, tenantId, profileIndexes(deps, tenantId, person).name_phone_hash!, options);
}

/** Find ID (아이디 찾기): the login ID of the verified person, masked. */
export async function findLoginId(deps: MembersDeps, tenantId: string, verificationId: string) {
  return withTransaction(deps.db, async (trx) => {
    const used = await useVerification({ ...deps, db: trx }, tenantId, verificationId, 'find_id', 'find_id');
    const row = await accountOfPerson({ ...deps, db: trx }, tenantId, used);
    if (!row?.login_id) throw new AppError('NOT_FOUND', 'No account of this person was found.');
    return { loginId: maskLoginId(row.login_id), joinedAt: row.joined_at.toISOString() };
  });
}

/** Password reset through verification: sets the password, clears a lockout, ends every session. */
export async function resetPassword(
  deps: MembersDeps,
  tenantId: string,
  input: { verificationId: string; newPassword: string },
): Promise<void> {
  const passwordHash = await hashPassword(input.newPassword);
  await withTransaction(deps.db, async (trx) => {
    const used = await useVerification({ ...deps, db: trx }, tenantId, input.verificationId, 'reset_password', 'reset_password');
    const row = await accountOfPerson({ ...deps, db: trx }, tenantId, used, { forUpdate: true });
    if (!row?.login_id) throw new AppError('NOT_FOUND', 'No account of this person was found.');
    checkPassword(input.newPassword, row.login_id, 'newPassword');
    await repo.updateMember(trx, tenantId, row.id, {
      // An account opened without verification is the verified person's from now on.
      ci_hash: used.ciHash,
      password_hash: passwordHash,
      failed_logins: 0,
      locked_until: null,
      password_changed_at: deps.clock.now(),
    });
    // The lockout lifts at once (it is counted per login ID: platform/limits.ts).
    await resetAttempts(trx, tenantId, LOGIN_ATTEMPTS, loginAttemptSubject(deps, tenantId, row.login_id));
    await repo.revokeSessions(trx, tenantId, row.id);
    await enqueueEvent(trx, tenantId, { topic: 'member.password_reset', payload: { memberId: row.id } });
  });
}

/**
 * Change phone through verification: the verified person must be the member (same CI); a member who
 * signed up unverified becomes verified by it.
 */
export async function changePhone(
  deps: MembersDeps,
  tenantId: string,
  memberId: string,
  verificationId: string,
): Promise<TMember> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.findMember(trx, tenantId, memberId, { forUpdate: true });
    if (row?.status !== 'active') throw new AppError('MEMBER_NOT_ACTIVE', 'Only an active member can change the phone.');
    const used = await useVerification({ ...deps, db: trx }, tenantId, verificationId, 'change_phone', `member:${memberId}`);
    if (row.ci_hash && row.ci_hash !== used.ciHash) {
      throw new AppError('VERIFICATION_NOT_USABLE', 'The verified person is not this member.', {
        verificationId,
        why: 'other_person',
      });
    }
    const pii = piiFor(deps.masterKey);
    const old = pii.open<Profile>(row.profile_sealed!);
    const v = used.identity;
    const profile: Profile = {
      ...old,
      name: v.name,
      phone: v.phone,
      birthDate: v.birthDate,
      gender: v.gender,
      nationality: v.nationality,
      carrier: v.carrier,
    };
    try {
      const updated = await repo.updateMember(trx, tenantId, memberId, {
        profile_sealed: pii.seal(profile),
        ci_hash: used.ciHash,
        ...profileIndexes(deps, tenantId, profile),
      });
      return toMemberDto(updated, deps);
    } catch (err) {
      throw memberConflict(err) ?? err;
    }
  });
}

/** The member's grade code (the grades module decides it; this module stores it). */
export async function memberGrade(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  memberId: string,
  options: { forUpdate?: boolean } = {},
) {
  const load = async () => {
    const row = await repo.findMember(deps.db, tenantId, memberId, options);
    if (!row) throw new AppError('NOT_FOUND', `No member ${memberId}.`);
    return { grade: row.grade, status: row.status };
  };
  // The points, stamps and coupons of one checkout each ask: read once per transaction.
  return options.forUpdate ? load() : txMemo(deps.db, repo.memberMemoKey(tenantId, memberId), load);
}

/** The member must exist in the tenant, whatever its status (NOT_FOUND as GET /v1/members/{id}): one primary-key lookup, once per transaction. */
export async function requireMember(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string): Promise<void> {
  await memberGrade(deps, tenantId, memberId);
}

/** The member's grade, refusing a withdrawn or dormant member (MEMBER_NOT_ACTIVE): for every currency write. */
export async function requireActiveMember(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string) {
  const m = await memberGrade(deps, tenantId, memberId);
  if (m.status !== 'active') throw new AppError('MEMBER_NOT_ACTIVE', `Member ${memberId} is ${m.status}.`, { status: m.status });
  return m;
}

export async function setMemberGrade(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string, grade: string): Promise<void> {
  await repo.updateMember(deps.db, tenantId, memberId, { grade });
}

/** Active members' ids, a page at a time. */
export async function activeMemberIds(deps: Pick<Deps, 'db'>, tenantId: string, after = '', limit = 1_000): Promise<string[]> {
  return (await repo.activeMemberIds(deps.db, tenantId, after, limit)).map((r) => r.id);
}

/**
 * Fills in the birthday month-day of members from before it was kept (opening each profile), a
 * chunk at a time; members without a profile get 0. Returns how many it filled.
 */
export async function fillBirthDays(deps: Pick<Deps, 'db' | 'masterKey'>, limit = 1_000): Promise<number> {
  await deps.db
    .updateTable('member')
    .set({ birth_md: 0 })
    .where('birth_md', 'is', null)
    .where('profile_sealed', 'is', null)
    .execute();
  const rows = await deps.db
    .selectFrom('member')
    .select(['tenant_id', 'id', 'profile_sealed'])
    .where('birth_md', 'is', null)
    .limit(limit)
    .execute();
  const pii = piiFor(deps.masterKey);
  for (const r of rows) {
    const md = r.profile_sealed ? birthMonthDay(pii.open<Profile>(r.profile_sealed).birthDate) : 0;
    await deps.db
      .updateTable('member')
      .set({ birth_md: md })
      .where('tenant_id', '=', r.tenant_id)
      .where('id', '=', r.id)
      .where('birth_md', 'is', null)
      .execute();
  }
  return rows.length;
}

/** Active members born on any of these month-days (month * 100 + day), by id after a cursor. */
export async function membersBornOn(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  monthDays: number[],
  after = '',
  limit = 1_000,
): Promise<string[]> {
  const rows = await deps.db
    .selectFrom('member')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'active')
    .where('birth_md', 'in', monthDays)
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
