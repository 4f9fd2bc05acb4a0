import { createHash, randomBytes, randomInt } from 'node:crypto';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { limitSecretCheck, rateLimited, resetAttempts, takeWindow } from '../../platform/limits.ts';
import { isKoreanMobile, maskEmail, maskPhone, normalizePhone, piiFor } from '../../platform/pii.ts';
import { enqueueMail, enqueueMessage, type MessageChannel } from '../messages/index.ts';
import { getTenant } from '../tenants/index.ts';
import * as repo from './operator-codes.repository.ts';
import {
  claim,
  enrolmentSession,
  type NewSession,
  OPERATOR_SCOPE,
  type OperatorAuth,
  requireStepUp,
  rotate,
} from './operator-sessions.service.ts';
import { findOperator, revokeSessions, updateOperator } from './operators.repository.ts';
import { recordChange } from './operators.service.ts';
import type { OperatorCodePurpose, OperatorRow } from './operators.tables.ts';

// One-time codes by SMS or KakaoTalk AlimTalk to the operator's registered phone (a second factor
// at sign-in and for step-up; and the proof of a new phone), and emergency recovery by e-mail when
// the phone is not at hand (the Kakao channel admin's rule: a pre-registered e-mail, here the
// operator's own). Codes: 6 digits, 5 minutes, 5 attempts, a new one after 60 s, daily caps per
// phone and per tenant, a keyed hash only; wrong codes also count on a lockout counter of their own
// (operator_sms). A recovery link is single use for 30 minutes and voids every factor, so the
// operator must enrol again; the other administrators are told. Messages and mail are queued in
// the same transaction as the code or link (the outbox) and sent after commit, sealed.

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey' | 'providers' | 'outbox'>;

export const CODE_DIGITS = 6;
export const CODE_TTL_MS = 5 * 60_000;
export const CODE_RESEND_MS = 60_000;
export const CODE_MAX_ATTEMPTS = 5;
export const RECOVERY_LINK_MS = 30 * 60_000;
/** Recovery e-mails an operator may ask for a day (UTC), besides the per-IP and per-minute limits. */
export const RECOVERY_REQUESTS_PER_DAY = 3;
const DAY_SECONDS = 86_400;

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const codeHash = (deps: Pick<Deps, 'masterKey'>, operatorId: string, purpose: OperatorCodePurpose, code: string) =>
  piiFor(deps.masterKey).hash(OPERATOR_SCOPE, 'login', `code:${purpose}:${operatorId}:${code.replace(/\s/g, '')}`);
const phoneHash = (deps: Pick<Deps, 'masterKey'>, phone: string) => piiFor(deps.masterKey).hash(OPERATOR_SCOPE, 'phone', phone);

const wrongCode = () => new AppError('INVALID_CREDENTIALS', 'The code is wrong, has expired or was used already.');
const unauthenticated = () =>
  new AppError('UNAUTHENTICATED', 'Sign in: the operator session is missing, has ended or was revoked.');

export type SentCode = {
  channel: MessageChannel;
  to: string;
  expiresAt: string;
  resendAfter: string;
  resendAfterSeconds: number;
};

function requireChannel(deps: D, channel: MessageChannel): void {
  if (!deps.providers.messages.channels.includes(channel))
    throw new AppError('CONFLICT', `Codes by ${channel} are off on this server: use the authenticator app.`, {
      channel,
      channels: [...deps.providers.messages.channels],
    });
}

async function operatorOf(deps: Pick<Deps, 'db'>, auth: OperatorAuth): Promise<OperatorRow> {
  const operator = await findOperator(deps.db, auth.tenantId, auth.operatorId);
  if (operator?.status !== 'active') throw unauthenticated();
  return operator;
}

function codeText(purpose: OperatorCodePurpose, code: string): string {
  return purpose === 'phone'
    ? `[Moa] 휴대폰 번호 확인 인증번호 ${code} (5분 안에 입력하세요. 요청하지 않았다면 무시하세요.)`
    : `[Moa] 관리자 추가인증 인증번호 ${code} (5분 안에 입력하세요. 누구에게도 알려주지 마세요.)`;
}

/**
 * Issues a code: replaces the last one of the purpose unless it is younger than 60 s, counts it
 * on the phone's and the tenant's daily caps and queues the message, all in one transaction, so a
 * refusal leaves nothing behind and parallel requests send one message.
 */
async function issue(
  deps: D,
  operator: OperatorRow,
  purpose: OperatorCodePurpose,
  phone: string,
  channel: MessageChannel,
  ip: string | undefined,
): Promise<SentCode> {
  await limitSecretCheck(deps, OPERATOR_SCOPE, { kind: 'operator_sms_send', credential: operator.id, ip });
  const now = deps.clock.now();
  const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
  const expiresAt = new Date(now.getTime() + CODE_TTL_MS);
  const resendAfter = new Date(now.getTime() + CODE_RESEND_MS);
  const { operatorCodesPerPhoneDay, operatorCodesPerTenantDay } = deps.config.limits;
  await withTransaction(deps.db, async (trx) => {
    const put = await repo.putCode(
      trx,
      {
        operator_id: operator.id,
        purpose,
        tenant_id: operator.tenant_id,
        channel,
        phone_sealed: piiFor(deps.masterKey).seal(phone),
        code_hash: codeHash(deps, operator.id, purpose, code),
        sent_at: now,
        expires_at: expiresAt,
        used_at: null,
      },
      new Date(now.getTime() - CODE_RESEND_MS),
    );
    if (!put) {
      const last = await repo.findCode(trx, operator.id, purpose);
      const at = new Date((last?.sent_at.getTime() ?? now.getTime()) + CODE_RESEND_MS);
      throw rateLimited('A code was sent less than a minute ago: wait before asking for another.', at, now, {
        per: 'resend',
        resendAfterSeconds: CODE_RESEND_MS / 1000,
      });
    }
    for (const [per, key, limit] of [
      ['phone', `operator_code_phone:${phoneHash(deps, phone)}`, operatorCodesPerPhoneDay],
      ['tenant', `operator_code_tenant:${operator.tenant_id ?? '_platform'}`, operatorCodesPerTenantDay],
    ] as const) {
      const taken = await takeWindow(trx, OPERATOR_SCOPE, { key, limit, windowSeconds: DAY_SECONDS }, now);
      if (!taken.allowed)
        throw rateLimited(
          `The daily limit of codes per ${per} (${limit}) is reached: use the authenticator app.`,
          taken.resetAt,
          now,
          {
            per,
            limit,
            windowSeconds: DAY_SECONDS,
          },
        );
    }
    await enqueueMessage(
      { db: trx, masterKey: deps.masterKey },
      { tenantId: operator.tenant_id, channel, to: phone, template: `operator_code_${purpose}`, text: codeText(purpose, code) },
    );
  });
  deps.outbox.wake();
  return {
    channel,
    to: maskPhone(phone),
    expiresAt: expiresAt.toISOString(),
    resendAfter: resendAfter.toISOString(),
    resendAfterSeconds: CODE_RESEND_MS / 1000,
  };
}

/**
 * One attempt at the live code of a purpose. The lockout counter (operator_sms) is claimed first;
 * a locked operator and a wrong code answer alike. Returns the phone the code went to.
 */
async function check(
  deps: D,
  auth: OperatorAuth,
  purpose: OperatorCodePurpose,
  code: string,
  ip: string | undefined,
  then?: (trx: Deps['db'], phone: string) => Promise<void>,
): Promise<string> {
  const claimed = await claim(deps, 'operator_sms', auth.operatorId, ip);
  const now = deps.clock.now();
  // The attempt is counted whatever the outcome: the transaction never fails on a wrong code.
  const phone = await withTransaction(deps.db, async (trx) => {
    if (!claimed || !/^\d{6}$/.test(code.trim())) return undefined;
    const tried = await repo.tryCode(
      trx,
      auth.operatorId,
      purpose,
      codeHash(deps, auth.operatorId, purpose, code.trim()),
      now,
      CODE_MAX_ATTEMPTS,
    );
    if (!tried?.ok) return undefined;
    const p = piiFor(deps.masterKey).open<string>(tried.phone_sealed);
    await then?.(trx, p);
    return p;
  });
  if (phone === undefined) throw wrongCode();
  await resetAttempts(deps.db, OPERATOR_SCOPE, 'operator_sms', auth.operatorId);
  return phone;
}

/** A code to the registered phone: at sign-in (stage password) or for a step-up (stage full). */
export async function requestSignInCode(deps: D, auth: OperatorAuth, channel: MessageChannel, ip?: string): Promise<SentCode> {
  if (auth.stage === 'enrol') throw new AppError('SECOND_FACTOR_REQUIRED', 'Enrol a second factor first.', { stage: 'enrol' });
  requireChannel(deps, channel);
  const operator = await operatorOf(deps, auth);
  if (!operator.phone_sealed)
    throw new AppError('CONFLICT', 'No phone is registered for codes: use the authenticator app or a recovery code.', {
      factor: 'phone',
    });
  return issue(deps, operator, 'sign_in', piiFor(deps.masterKey).open<string>(operator.phone_sealed), channel, ip);
}

/** The code as the second factor (from stage password) or as a step-up (from full): a new session id. */
export async function verifySignInCode(deps: D, auth: OperatorAuth, code: string, ip?: string): Promise<NewSession> {
  if (auth.stage === 'enrol') throw new AppError('SECOND_FACTOR_REQUIRED', 'Enrol a second factor first.', { stage: 'enrol' });
  await check(deps, auth, 'sign_in', code, ip);
  return rotate(deps, auth, 'full', deps.clock.now());
}

function requireRecentFactor(deps: D, auth: OperatorAuth): void {
  if (auth.stage !== 'full') throw new AppError('SECOND_FACTOR_REQUIRED', 'Finish signing in first.', { stage: auth.stage });
  requireStepUp(deps, auth);
}

/** The registered phone, masked, and the channels codes can go by. */
export async function phoneOf(deps: D, auth: OperatorAuth) {
  const operator = await operatorOf(deps, auth);
  return {
    phone: operator.phone_sealed ? maskPhone(piiFor(deps.masterKey).open<string>(operator.phone_sealed)) : null,
    channels: [...deps.providers.messages.channels],
  };
}

/** Sets or changes the phone, step 1: a code to the new number (a second factor within 15 minutes). */
export async function requestPhoneChange(
  deps: D,
  auth: OperatorAuth,
  input: { phone: string; channel: MessageChannel },
  ip?: string,
): Promise<SentCode> {
  requireRecentFactor(deps, auth);
  requireChannel(deps, input.channel);
  const phone = normalizePhone(input.phone);
  if (!isKoreanMobile(phone)) throw fieldError('body.phone', 'A Korean mobile number, such as 010-1234-5678.');
  return issue(deps, await operatorOf(deps, auth), 'phone', phone, input.channel, ip);
}

/** Step 2: the code that reached the new phone; the phone is then registered (sealed) and the change logged. */
export async function confirmPhoneChange(deps: D, auth: OperatorAuth, code: string, ip?: string) {
  requireRecentFactor(deps, auth);
  const now = deps.clock.now();
  const phone = await check(deps, auth, 'phone', code, ip, async (trx, p) => {
    const before = await findOperator(trx, auth.tenantId, auth.operatorId);
    await repo.setPhone(trx, auth.tenantId, auth.operatorId, piiFor(deps.masterKey).seal(p), now);
    await recordChange({ db: trx }, auth.tenantId, {
      actorId: auth.operatorId,
      operatorId: auth.operatorId,
      change: before?.phone_sealed ? 'phone_changed' : 'phone_added',
      after: { phone: maskPhone(p) },
    });
  });
  return { phone: maskPhone(phone), channels: [...deps.providers.messages.channels] };
}

/** Removes the registered phone (codes by SMS and AlimTalk stop); a second factor within 15 minutes. */
export async function removePhone(deps: D, auth: OperatorAuth): Promise<void> {
  requireRecentFactor(deps, auth);
  const now = deps.clock.now();
  await withTransaction(deps.db, async (trx) => {
    await repo.setPhone(trx, auth.tenantId, auth.operatorId, null, now);
    await repo.deleteCodes(trx, auth.operatorId);
    await recordChange({ db: trx }, auth.tenantId, {
      actorId: auth.operatorId,
      operatorId: auth.operatorId,
      change: 'phone_removed',
    });
  });
}

const formatAt = (at: Date, timeZone: string) =>
  `${new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(at)} (${timeZone})`;

/**
 * Emergency recovery, step 1 (the password was right, the phone is not at hand): a single-use link
 * to the operator's registered e-mail, valid 30 minutes; an earlier link stops working. Limited
 * per IP, per minute and to three a day per operator.
 */
export async function requestEmailRecovery(
  deps: D,
  auth: OperatorAuth,
  meta: { ip?: string; linkBase: string },
): Promise<{ sentTo: string; expiresAt: string }> {
  if (auth.stage !== 'password')
    throw new AppError('CONFLICT', 'Emergency recovery is for the sign-in step after the password.', { stage: auth.stage });
  await limitSecretCheck(deps, OPERATOR_SCOPE, { kind: 'operator_email_recovery', credential: auth.operatorId, ip: meta.ip });
  const operator = await operatorOf(deps, auth);
  const email = piiFor(deps.masterKey).open<string>(operator.email_sealed);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + RECOVERY_LINK_MS);
  const token = `oer_${randomBytes(32).toString('base64url')}`;
  const link = `${deps.config.providers.mail.publicUrl ?? meta.linkBase}/login#recovery=${token}`;
  await withTransaction(deps.db, async (trx) => {
    const taken = await takeWindow(
      trx,
      OPERATOR_SCOPE,
      { key: `operator_email_recovery_day:${operator.id}`, limit: RECOVERY_REQUESTS_PER_DAY, windowSeconds: DAY_SECONDS },
      now,
    );
    if (!taken.allowed)
      throw rateLimited('Too many recovery e-mails today: ask an administrator of the brand for help.', taken.resetAt, now, {
        per: 'operator',
        limit: RECOVERY_REQUESTS_PER_DAY,
        windowSeconds: DAY_SECONDS,
      });
    await repo.revokeOpenRecoveries(trx, operator.id, now);
    await repo.insertRecovery(trx, {
      token_hash: sha256(token),
      tenant_id: operator.tenant_id,
      operator_id: operator.id,
      ip: meta.ip ?? null,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
      revoked_at: null,
    });
    await enqueueMail(
      { db: trx, masterKey: deps.masterKey },
      {
        tenantId: operator.tenant_id,
        to: email,
        subject: '[Moa] 관리자 비상 복구 링크 · Emergency sign-in link',
        text: [
          '휴대폰 없이 로그인하기 위한 비상 복구 링크입니다. 30분 동안 한 번만 쓸 수 있습니다.',
          '링크를 열면 등록된 인증 앱, 복구 코드와 휴대폰 번호가 모두 해제되고, 새 인증 수단을 등록해야 합니다.',
          '브랜드의 다른 관리자에게도 이 사실이 통지됩니다. 요청하지 않았다면 링크를 열지 말고 비밀번호를 바꾸세요.',
          '',
          link,
          '',
          'This link signs you in without your phone, once, within 30 minutes. Opening it removes your authenticator,',
          'recovery codes and phone, and you must enrol a new second factor; the other administrators are told.',
          'If you did not ask for it, do not open it and change your password.',
        ].join('\n'),
      },
    );
  });
  deps.outbox.wake();
  return { sentTo: maskEmail(email), expiresAt: expiresAt.toISOString() };
}

/**
 * Emergency recovery, step 2 (the link from the e-mail): used once; the operator's factors are
 * voided and every session ends; the answer's session can only enrol a new factor. Every other
 * active owner and admin of the tenant (the other platform operators for a platform operator) gets
 * a notice by e-mail.
 */
export async function useEmailRecovery(
  deps: D,
  token: string,
  meta: { ip?: string; userAgent?: string },
): Promise<NewSession & { operatorId: string }> {
  const now = deps.clock.now();
  const pii = piiFor(deps.masterKey);
  const result = await withTransaction(deps.db, async (trx) => {
    const link = token.startsWith('oer_') ? await repo.consumeRecovery(trx, sha256(token), now) : undefined;
    const operator = link && (await findOperator(trx, link.tenant_id, link.operator_id));
    if (!link || !operator || operator.status !== 'active') return undefined;
    await repo.voidFactors(trx, operator.tenant_id, operator.id, now);
    await updateOperator(trx, operator.tenant_id, operator.id, { sessions_valid_after: now }, now);
    await revokeSessions(trx, operator.id, now);
    await recordChange({ db: trx }, operator.tenant_id, {
      actorId: operator.id,
      operatorId: operator.id,
      change: 'second_factor_reset',
      after: { method: 'email_recovery', ip: meta.ip ?? null },
    });
    const session = await enrolmentSession({ ...deps, db: trx }, operator, meta);
    const name = pii.open<string>(operator.name_sealed);
    const email = pii.open<string>(operator.email_sealed);
    const timeZone =
      operator.tenant_id === null ? deps.config.defaultTimeZone : (await getTenant({ db: trx }, operator.tenant_id)).timeZone;
    for (const admin of await repo.administrators(trx, operator.tenant_id, operator.id)) {
      await enqueueMail(
        { db: trx, masterKey: deps.masterKey },
        {
          tenantId: operator.tenant_id,
          to: pii.open<string>(admin.email_sealed),
          subject: `[Moa] 관리자 비상 복구 알림: ${name} · Emergency recovery used`,
          text: [
            `${name} (${email}) 님이 ${formatAt(now, timeZone)}에 비상 이메일 복구로 로그인했습니다${meta.ip ? ` (IP ${meta.ip})` : ''}.`,
            '등록된 인증 앱, 복구 코드와 휴대폰 번호는 해제되었고, 새 인증 수단을 등록해야 콘솔을 쓸 수 있습니다.',
            '본인이 아니라면 즉시 이 계정을 정지하세요 (운영자 관리 → 정지).',
            '',
            `${name} (${email}) signed in through emergency e-mail recovery at ${formatAt(now, timeZone)}${meta.ip ? ` from ${meta.ip}` : ''}.`,
            'Their authenticator, recovery codes and phone were removed; they must enrol a new second factor.',
            'If this was not them, suspend the account now (Operators → Suspend).',
          ].join('\n'),
        },
      );
    }
    return { ...session, operatorId: operator.id };
  });
  if (!result) throw new AppError('RECOVERY_LINK_NOT_USABLE', 'This recovery link cannot be used: ask for a new one.');
  deps.outbox.wake();
  return result;
}
