import { createHash, randomBytes } from 'node:crypto';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { claimAttempt, limitSecretCheck, resetAttempts } from '../../platform/limits.ts';
import { verifyPasswordOrDummy } from '../../platform/passwords.ts';
import { piiFor } from '../../platform/pii.ts';
import { type OperatorAuth, STEP_UP_MINUTES } from '../../platform/request-context.ts';
import { newTotpSecret, totpStep, totpUri } from './operator-totp.rules.ts';
import * as repo from './operators.repository.ts';
import { BUILTIN_ROLES, isBuiltinRole, isPermission, type Permission, PLATFORM_ROLE } from './operators.rules.ts';
import type { OperatorRow, SessionStage } from './operators.tables.ts';

// Operator sign-in: password, then a second factor (TOTP or a recovery code), then a server-side
// session held in a cookie. Every stage change issues a new session id (no fixation); every
// request reads the session, its operator and tenant in one query, so a suspension or "log out
// everywhere" holds at once in every process.

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey'>;

/** Where the attempt counters and rate windows of operator secrets live: no tenant is known before login. */
export const OPERATOR_SCOPE = '_operators';
export const ABSOLUTE_SESSION_MS = 12 * 3_600_000;
/** A session that has passed the password only, or must enrol a factor, lives this long. */
const PARTIAL_SESSION_MS = 15 * 60_000;
const TOUCH_EVERY_MS = 60_000;
const RECOVERY_CODES = 10;
/** Separate counters per secret kind (Zitadel's lockout policy): the password, TOTP, recovery codes, SMS/AlimTalk codes. */
const LIMITS = {
  operator_password: { max: 5, lockoutMs: 15 * 60_000 },
  operator_totp: { max: 5, lockoutMs: 15 * 60_000 },
  operator_recovery: { max: 5, lockoutMs: 15 * 60_000 },
  operator_sms: { max: 5, lockoutMs: 15 * 60_000 },
} as const;
export type SecretKind = keyof typeof LIMITS;

const sha256 = (s: string) => createHash('sha256').update(s).digest();
export const emailHash = (masterKey: Buffer, email: string) =>
  piiFor(masterKey).hash(OPERATOR_SCOPE, 'email', email.trim().toLowerCase());

export type { OperatorAuth };
export type NewSession = { token: string; stage: SessionStage; expiresAt: Date };

export function permissionsOf(role: string, custom: string[] | null): readonly Permission[] {
  if (role === PLATFORM_ROLE) return [];
  if (isBuiltinRole(role)) return BUILTIN_ROLES[role].permissions;
  return (custom ?? []).filter(isPermission);
}

export async function openSession(
  deps: D,
  operator: OperatorRow,
  stage: SessionStage,
  meta: { ip?: string; userAgent?: string; secondFactorAt?: Date | null; createdAt?: Date },
): Promise<NewSession> {
  const now = deps.clock.now();
  const token = `ops_${randomBytes(32).toString('base64url')}`;
  const createdAt = meta.createdAt ?? now;
  const expiresAt = new Date(
    stage === 'full'
      ? createdAt.getTime() + ABSOLUTE_SESSION_MS
      : Math.min(now.getTime() + PARTIAL_SESSION_MS, createdAt.getTime() + ABSOLUTE_SESSION_MS),
  );
  await repo.insertSession(deps.db, {
    id_hash: sha256(token),
    tenant_id: operator.tenant_id,
    operator_id: operator.id,
    stage,
    created_at: createdAt,
    last_seen_at: now,
    expires_at: expiresAt,
    second_factor_at: meta.secondFactorAt ?? null,
    ip: meta.ip ?? null,
    user_agent: meta.userAgent?.slice(0, 300) ?? null,
    revoked_at: null,
  });
  return { token, stage, expiresAt };
}

/** A new id for a session that changes stage or privilege; the old id stops working. */
export async function rotate(deps: D, auth: OperatorAuth, stage: SessionStage, secondFactorAt: Date | null): Promise<NewSession> {
  return withTransaction(deps.db, async (trx) => {
    const old = await repo.deleteSession(trx, auth.sessionHash);
    if (!old) throw unauthenticated();
    const operator = await repo.findOperator(trx, auth.tenantId, auth.operatorId);
    if (!operator) throw unauthenticated();
    // The absolute lifetime counts from the password, not from the rotation.
    return openSession({ ...deps, db: trx }, operator, stage, {
      ip: old.ip ?? undefined,
      userAgent: old.user_agent ?? undefined,
      secondFactorAt,
      createdAt: stage === 'full' && old.stage !== 'full' ? deps.clock.now() : old.created_at,
    });
  });
}

const unauthenticated = () =>
  new AppError('UNAUTHENTICATED', 'Sign in: the operator session is missing, has ended or was revoked.');
const wrong = () => new AppError('INVALID_CREDENTIALS', 'The e-mail or the password is wrong.');
const wrongCode = () => new AppError('INVALID_CREDENTIALS', 'The code is wrong or was used already.');

/**
 * Claims an attempt at a secret before it is checked (atomic, across processes). A locked
 * credential answers exactly as a wrong one, after the same work.
 */
export async function claim(deps: D, kind: SecretKind, subject: string, ip: string | undefined): Promise<boolean> {
  await limitSecretCheck(deps, OPERATOR_SCOPE, { kind, credential: subject, ip });
  const c = await claimAttempt(deps.db, OPERATOR_SCOPE, kind, subject, LIMITS[kind], deps.clock.now());
  return !c.locked;
}

/** Step 1: e-mail and password. The session then needs a second factor (or its enrolment). */
export async function login(
  deps: D,
  input: { email: string; password: string; ip?: string; userAgent?: string },
): Promise<NewSession & { operatorId: string }> {
  const subject = emailHash(deps.masterKey, input.email);
  const claimed = await claim(deps, 'operator_password', subject, input.ip);
  const found = await repo.findOperatorByEmailHash(deps.db, subject);
  const usable = claimed && found && found.status !== 'removed' ? found : undefined;
  const ok = await verifyPasswordOrDummy(input.password, usable?.password_hash);
  if (!ok || !usable) throw wrong();
  await resetAttempts(deps.db, OPERATOR_SCOPE, 'operator_password', subject);
  if (usable.status === 'suspended') throw new AppError('OPERATOR_SUSPENDED', 'This operator account is suspended.');
  const totp = await repo.findTotp(deps.db, usable.id);
  const session = await openSession(deps, usable, totp?.confirmed_at ? 'password' : 'enrol', input);
  return { ...session, operatorId: usable.id };
}

/** Opens the session of a just-accepted invitation: a factor must be enrolled before anything else. */
export const enrolmentSession = (deps: D, operator: OperatorRow, meta: { ip?: string; userAgent?: string }) =>
  openSession(deps, operator, 'enrol', meta);

/** The operator behind a session cookie, or UNAUTHENTICATED. */
export async function authenticateOperator(deps: D, token: string | undefined): Promise<OperatorAuth> {
  if (!token?.startsWith('ops_')) throw unauthenticated();
  const hash = sha256(token);
  const s = await repo.findSession(deps.db, hash);
  const now = deps.clock.now();
  if (
    !s ||
    s.revoked_at ||
    s.expires_at <= now ||
    s.last_seen_at.getTime() + s.idle_minutes * 60_000 <= now.getTime() ||
    s.created_at < s.operator.sessions_valid_after ||
    s.operator.status !== 'active' ||
    (s.tenant_id !== null && s.tenant_status !== 'active')
  )
    throw unauthenticated();
  if (now.getTime() - s.last_seen_at.getTime() > TOUCH_EVERY_MS) await repo.touchSession(deps.db, hash, now);
  return {
    kind: 'operator',
    tenantId: s.tenant_id,
    operatorId: s.operator_id,
    role: s.operator.role,
    permissions: permissionsOf(s.operator.role, s.role_permissions),
    storeIds: s.operator.store_ids,
    stage: s.stage,
    secondFactorAt: s.second_factor_at,
    sessionHash: hash,
  };
}

/** Step 2 with a TOTP code: each 30-second code is accepted once. */
export async function verifyTotp(deps: D, auth: OperatorAuth, code: string, ip?: string): Promise<NewSession> {
  if (auth.stage === 'enrol') throw new AppError('SECOND_FACTOR_REQUIRED', 'Enrol a second factor first.', { stage: 'enrol' });
  const claimed = await claim(deps, 'operator_totp', auth.operatorId, ip);
  const totp = await repo.findTotp(deps.db, auth.operatorId);
  const now = deps.clock.now();
  const step =
    claimed && totp?.confirmed_at ? totpStep(piiFor(deps.masterKey).open<string>(totp.secret_sealed), code, now) : null;
  if (step === null || !(await repo.takeTotpStep(deps.db, auth.operatorId, step, now, false))) throw wrongCode();
  await resetAttempts(deps.db, OPERATOR_SCOPE, 'operator_totp', auth.operatorId);
  return rotate(deps, auth, 'full', now);
}

const recoveryHash = (deps: D, operatorId: string, code: string) =>
  piiFor(deps.masterKey).hash(OPERATOR_SCOPE, 'login', `recovery:${operatorId}:${code.replace(/[\s-]/g, '').toLowerCase()}`);

/** Step 2 with a recovery code: single use. */
export async function useRecoveryCode(deps: D, auth: OperatorAuth, code: string, ip?: string): Promise<NewSession> {
  if (auth.stage === 'enrol') throw new AppError('SECOND_FACTOR_REQUIRED', 'Enrol a second factor first.', { stage: 'enrol' });
  const claimed = await claim(deps, 'operator_recovery', auth.operatorId, ip);
  const now = deps.clock.now();
  if (!claimed || !(await repo.useRecoveryCode(deps.db, auth.operatorId, recoveryHash(deps, auth.operatorId, code), now)))
    throw wrongCode();
  await resetAttempts(deps.db, OPERATOR_SCOPE, 'operator_recovery', auth.operatorId);
  return rotate(deps, auth, 'full', now);
}

/** A new TOTP secret to enrol (replacing an unconfirmed one). A signed-in operator needs a recent second factor. */
export async function startTotpEnrolment(deps: D, auth: OperatorAuth, account: string, brand: string) {
  if (auth.stage === 'password') throw new AppError('SECOND_FACTOR_REQUIRED', 'Finish signing in first.', { stage: 'password' });
  if (auth.stage === 'full') requireStepUp(deps, auth);
  const secret = newTotpSecret();
  // A confirmed factor stays in force until the new one is confirmed.
  const existing = await repo.findTotp(deps.db, auth.operatorId);
  if (existing?.confirmed_at && auth.stage === 'full') {
    throw new AppError('CONFLICT', 'An authenticator is enrolled already: remove it first to enrol another.', { factor: 'totp' });
  }
  await repo.putTotpSecret(deps.db, auth.tenantId, auth.operatorId, piiFor(deps.masterKey).seal(secret));
  return { secret, uri: totpUri(secret, account, brand) };
}

/** Confirms the enrolment with a first code; returns the recovery codes (shown once) and a full session. */
export async function confirmTotpEnrolment(deps: D, auth: OperatorAuth, code: string, ip?: string) {
  const claimed = await claim(deps, 'operator_totp', auth.operatorId, ip);
  const totp = await repo.findTotp(deps.db, auth.operatorId);
  const now = deps.clock.now();
  if (!totp || totp.confirmed_at)
    throw new AppError('CONFLICT', 'No enrolment is in progress: start one first.', { factor: 'totp' });
  const step = claimed ? totpStep(piiFor(deps.masterKey).open<string>(totp.secret_sealed), code, now) : null;
  if (step === null || !(await repo.takeTotpStep(deps.db, auth.operatorId, step, now, true))) throw wrongCode();
  await resetAttempts(deps.db, OPERATOR_SCOPE, 'operator_totp', auth.operatorId);
  const recoveryCodes = await newRecoveryCodes(deps, auth);
  const session = await rotate(deps, auth, 'full', now);
  return { session, recoveryCodes };
}

/** Ten new single-use recovery codes; the previous set stops working. */
export async function newRecoveryCodes(deps: D, auth: OperatorAuth): Promise<string[]> {
  // 10 characters of base32: 50 bits each, as Keycloak and Better Auth issue them.
  const codes = Array.from({ length: RECOVERY_CODES }, () => {
    const c = randomBytes(8).toString('hex').slice(0, 10);
    return `${c.slice(0, 5)}-${c.slice(5)}`;
  });
  await withTransaction(deps.db, (trx) =>
    repo.replaceRecoveryCodes(
      trx,
      auth.tenantId,
      auth.operatorId,
      codes.map((c) => recoveryHash(deps, auth.operatorId, c)),
    ),
  );
  return codes;
}

/** Step-up: a second factor within the last 15 minutes, for unmasking, exports and access changes. */
export function requireStepUp(deps: Pick<Deps, 'clock'>, auth: OperatorAuth): void {
  const at = auth.secondFactorAt?.getTime() ?? 0;
  if (deps.clock.now().getTime() - at > STEP_UP_MINUTES * 60_000) {
    throw new AppError('STEP_UP_REQUIRED', `Confirm with your second factor (valid ${STEP_UP_MINUTES} minutes).`, {
      withinMinutes: STEP_UP_MINUTES,
    });
  }
}

/** Step-up from a signed-in session: the same code checks as sign-in, a new session id. */
export async function stepUp(deps: D, auth: OperatorAuth, method: 'totp' | 'recovery_code', code: string, ip?: string) {
  if (auth.stage !== 'full') throw unauthenticated();
  // The rotation keeps the session's stage and lifetime and records the new second-factor time.
  return method === 'totp' ? verifyTotp(deps, auth, code, ip) : useRecoveryCode(deps, auth, code, ip);
}

export async function logout(deps: D, auth: OperatorAuth): Promise<void> {
  await repo.deleteSession(deps.db, auth.sessionHash);
}

/** Every session of the operator ends, in every process, at once. */
export async function logoutEverywhere(deps: D, tenantId: string | null, operatorId: string): Promise<void> {
  const now = deps.clock.now();
  await withTransaction(deps.db, async (trx) => {
    await repo.updateOperator(trx, tenantId, operatorId, { sessions_valid_after: now }, now);
    await repo.revokeSessions(trx, operatorId, now);
  });
}

export const recoveryCodesLeft = (deps: D, operatorId: string) => repo.unusedRecoveryCodes(deps.db, operatorId);
