import { createHash } from 'node:crypto';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { newId, randomToken } from '../../platform/ids.ts';
import { claimAttempt, limitSecretCheck, resetAttempts } from '../../platform/limits.ts';
import { verifyPasswordOrDummy } from '../../platform/passwords.ts';
import * as repo from './members.repository.ts';
import { normalizeLoginId } from './members.rules.ts';
import type { TMember, TSession } from './members.schemas.ts';
import { LOGIN_ATTEMPTS, loginAttemptSubject, type MembersDeps, toMemberDto } from './members.service.ts';
import type { MemberRow, MemberSessionRow } from './members.tables.ts';

// Member login and sessions. A session token is shown once; only its SHA-256 is stored.

const SESSION_DAYS = 90;
// last_seen_at (and the member's last activity, which dormancy counts from) is written at most this often.
const TOUCH_EVERY_MS = 60_000;

const tokenHash = (token: string) => createHash('sha256').update(token).digest();

const toSessionDto = (s: MemberSessionRow, currentId?: string): TSession => ({
  id: s.id,
  createdAt: s.created_at.toISOString(),
  lastSeenAt: s.last_seen_at.toISOString(),
  expiresAt: s.expires_at.toISOString(),
  current: s.id === currentId,
  userAgent: s.user_agent,
});

export type CredentialsDeps = MembersDeps & Pick<Deps, 'config'>;

/**
 * Checks a login ID and password. An attempt is claimed first, in one conditional statement
 * (platform/limits.ts), so parallel guesses never get more checks than the policy's maximum; at
 * every maximum in a row the login locks for the policy's minutes, then opens again by itself (and
 * at once after a password reset), so nobody can lock a member out for good. The count is kept per
 * login ID whether or not it exists, and an unknown ID is checked against a dummy hash: the same
 * answers, the same lock, the same work.
 */
export async function checkCredentials(
  deps: CredentialsDeps,
  tenantId: string,
  loginId: string,
  password: string,
  ip?: string,
): Promise<MemberRow> {
  const now = deps.clock.now();
  const subject = loginAttemptSubject(deps, tenantId, loginId);
  await limitSecretCheck(deps, tenantId, { kind: LOGIN_ATTEMPTS, credential: subject, ip });
  const policy = await repo.policy(deps.db, tenantId);
  const claim = await claimAttempt(
    deps.db,
    tenantId,
    LOGIN_ATTEMPTS,
    subject,
    { max: policy.max_failed_logins, lockoutMs: policy.lockout_minutes * 60_000 },
    now,
  );
  if (claim.locked) {
    throw new AppError(
      'LOGIN_LOCKED',
      `Too many wrong passwords: try again in ${Math.ceil(claim.retryAfterSeconds / 60)} minutes.`,
      { retryAfterSeconds: claim.retryAfterSeconds },
    );
  }
  const row = await repo.findByLoginId(deps.db, tenantId, normalizeLoginId(loginId));
  const usable = row?.password_hash && row.status !== 'withdrawn' ? row : undefined;
  const ok = await verifyPasswordOrDummy(password, usable?.password_hash);
  if (!ok || !usable) {
    if (claim.claimed === policy.max_failed_logins)
      deps.log.info({ tenantId, memberId: usable?.id, failed: claim.claimed }, 'member login locked');
    throw new AppError('INVALID_CREDENTIALS', 'The login ID or the password is wrong.');
  }
  await resetAttempts(deps.db, tenantId, LOGIN_ATTEMPTS, subject);
  return usable;
}

export type LoginResult = { token: string; session: TSession; member: TMember };

/** Opens a session for a member whose credentials were checked; counts as activity. */
export async function openSession(
  deps: MembersDeps,
  tenantId: string,
  memberId: string,
  userAgent: string | undefined,
): Promise<LoginResult> {
  const now = deps.clock.now();
  const member = await repo.updateMember(deps.db, tenantId, memberId, {
    failed_logins: 0,
    locked_until: null,
    last_active_at: now,
    dormancy_noticed_at: null,
  });
  const token = `mst_${randomToken(43)}`;
  const session = await repo.insertSession(deps.db, {
    tenant_id: tenantId,
    id: newId('mss'),
    member_id: memberId,
    token_hash: tokenHash(token),
    expires_at: new Date(now.getTime() + SESSION_DAYS * 86_400_000),
    revoked_at: null,
    user_agent: userAgent?.slice(0, 300) ?? null,
  });
  return { token, session: toSessionDto(session, session.id), member: toMemberDto(member, deps) };
}

/** Login by ID and password; a dormant account answers MEMBER_DORMANT (reactivate it). */
export async function login(
  deps: CredentialsDeps,
  tenantId: string,
  input: { loginId: string; password: string; userAgent?: string | undefined; ip?: string },
): Promise<LoginResult> {
  const row = await checkCredentials(deps, tenantId, input.loginId, input.password, input.ip);
  if (row.status === 'dormant')
    throw new AppError('MEMBER_DORMANT', 'The account is dormant: reactivate it with an identity verification.');
  return openSession(deps, tenantId, row.id, input.userAgent);
}

export type MemberAuth = { member: MemberRow; sessionId: string };

/** The member behind a session token (X-Member-Token), for the tenant of the API key. */
export async function authenticateMember(deps: MembersDeps, tenantId: string, token: string | undefined): Promise<MemberAuth> {
  const unauthenticated = () => new AppError('UNAUTHENTICATED', 'Send a valid member session token in X-Member-Token.');
  if (!token) throw unauthenticated();
  const now = deps.clock.now();
  const session = await repo.findSessionByToken(deps.db, tokenHash(token));
  if (!session || session.tenant_id !== tenantId || session.revoked_at || session.expires_at <= now) throw unauthenticated();
  const member = await repo.findMember(deps.db, tenantId, session.member_id);
  if (member?.status !== 'active') throw new AppError('MEMBER_NOT_ACTIVE', 'The member has withdrawn or is dormant.');
  if (now.getTime() - session.last_seen_at.getTime() > TOUCH_EVERY_MS) {
    await repo.touchSession(deps.db, tenantId, session.id);
    await repo.updateMember(deps.db, tenantId, member.id, { last_active_at: now, dormancy_noticed_at: null });
  }
  return { member, sessionId: session.id };
}

export async function listSessions(deps: MembersDeps, tenantId: string, auth: MemberAuth): Promise<TSession[]> {
  const rows = await repo.listSessions(deps.db, tenantId, auth.member.id, deps.clock.now());
  return rows.map((s) => toSessionDto(s, auth.sessionId));
}

export async function revokeSession(deps: MembersDeps, tenantId: string, auth: MemberAuth, sessionId: string): Promise<void> {
  if ((await repo.revokeSessions(deps.db, tenantId, auth.member.id, sessionId)) === 0) {
    throw new AppError('NOT_FOUND', `No open session ${sessionId}.`);
  }
}
