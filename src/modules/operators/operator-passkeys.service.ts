import { createHash, randomBytes } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { limitSecretCheck } from '../../platform/limits.ts';
import { piiFor } from '../../platform/pii.ts';
import * as repo from './operator-passkeys.repository.ts';
import {
  type NewSession,
  OPERATOR_SCOPE,
  type OperatorAuth,
  openSession,
  requireStepUp,
  rotate,
} from './operator-sessions.service.ts';
import { findOperator } from './operators.repository.ts';
import { getOperator, recordChange } from './operators.service.ts';
import type { OperatorPasskeyRow, OperatorWebauthnChallengeTable, WebauthnPurpose } from './operators.tables.ts';

// Passkeys (WebAuthn) of operators, through @simplewebauthn/server. A passkey is registered in a
// signed-in session with a recent second factor, and always verifies its user (PIN or biometrics).
// It then serves:
// - as the second factor after the password, and for step-up (user verification preferred);
// - alone, as a sign-in with both factors (something held, and the PIN or biometrics that unlock
//   it: a multi-factor cryptographic authenticator, NIST SP 800-63B AAL2), only when the
//   authenticator reports that it verified the user.
// Each ceremony's challenge is kept server side, bound to the session (or, before sign-in, to a
// short cookie), taken once and valid 5 minutes. The signature counter is kept: an assertion must
// bring a higher one (or 0 from an authenticator that keeps none), else it is refused.

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey' | 'log'>;

/** Who the passkeys are bound to: the console's host (RP ID) and the origin its pages are served from. */
export type RelyingParty = { id: string; origin: string };

export const CHALLENGE_MS = 5 * 60_000;
/** How long the browser shows its passkey prompt. */
const CEREMONY_TIMEOUT_MS = 120_000;
const RP_NAME = 'Moa';

const sha256 = (s: string) => createHash('sha256').update(s).digest();
/** The WebAuthn user handle: the operator id (no personal data), as the authenticator stores it. */
const userHandle = (operatorId: string) => new Uint8Array(Buffer.from(operatorId, 'utf8'));

export type TPasskey = {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** A synced passkey (in a password manager or a platform account) rather than one bound to a device. */
  synced: boolean;
};

const toPasskey = (r: OperatorPasskeyRow): TPasskey => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  synced: r.device_type === 'multiDevice',
});

const REGISTRATION_MESSAGES = {
  challenge: 'The passkey request has expired or was used already: start again.',
  verification: 'The authenticator’s answer could not be verified: try again.',
  registered: 'This passkey is registered already.',
} as const;
const rejected = (reason: keyof typeof REGISTRATION_MESSAGES, cause?: string) =>
  new AppError('PASSKEY_REJECTED', REGISTRATION_MESSAGES[reason], { reason, ...(cause ? { cause } : {}) });

/** An assertion that does not sign in; `details.reason` says why (the passkey belongs to the caller's browser). */
const refused = (reason: 'challenge' | 'unknown' | 'signature' | 'user_verification' | 'counter') =>
  new AppError(
    'INVALID_CREDENTIALS',
    reason === 'counter'
      ? 'The passkey’s signature counter went backwards: the authenticator may have been copied. Use another factor, and remove this passkey.'
      : 'The passkey could not be verified: try again, or use another factor.',
    { reason },
  );

function requireFull(auth: OperatorAuth): void {
  if (auth.stage !== 'full') throw new AppError('SECOND_FACTOR_REQUIRED', 'Finish signing in first.', { stage: auth.stage });
}

async function newChallenge(
  deps: D,
  bindingHash: Buffer,
  c: { purpose: WebauthnPurpose; tenantId: string | null; operatorId: string | null; challenge: string; rp: RelyingParty },
): Promise<Date> {
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + CHALLENGE_MS);
  await repo.putChallenge(
    deps.db,
    {
      binding_hash: bindingHash,
      tenant_id: c.tenantId,
      operator_id: c.operatorId,
      purpose: c.purpose,
      challenge: c.challenge,
      rp_id: c.rp.id,
      origin: c.rp.origin,
      expires_at: expiresAt,
    },
    now,
  );
  return expiresAt;
}

/** The binding's challenge, taken (single use); refused when missing, for another purpose or operator, or expired. */
async function useChallenge(
  deps: D,
  bindingHash: Buffer,
  purpose: WebauthnPurpose,
  operatorId: string | null,
  fail: () => AppError,
): Promise<OperatorWebauthnChallengeTable> {
  const ch = await repo.takeChallenge(deps.db, bindingHash);
  if (!ch || ch.purpose !== purpose || ch.operator_id !== operatorId || ch.expires_at <= deps.clock.now()) throw fail();
  return ch;
}

/** Step 1 of registering a passkey: the options for navigator.credentials.create(). */
export async function registrationOptions(
  deps: D,
  auth: OperatorAuth,
  rp: RelyingParty,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  requireFull(auth);
  requireStepUp(deps, auth);
  const [operator, existing] = await Promise.all([
    getOperator(deps, auth.tenantId, auth.operatorId),
    repo.listPasskeys(deps.db, auth.operatorId),
  ]);
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: rp.id,
    userName: operator.email,
    userDisplayName: operator.name,
    userID: userHandle(auth.operatorId),
    attestationType: 'none',
    timeout: CEREMONY_TIMEOUT_MS,
    // The same authenticator twice would be one factor counted twice.
    excludeCredentials: existing.filter((p) => p.rp_id === rp.id).map((p) => ({ id: p.credential_id, transports: p.transports })),
    // Discoverable (sign-in without an e-mail) and always verifying its user (sign-in with both factors).
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  await newChallenge(deps, auth.sessionHash, {
    purpose: 'register',
    tenantId: auth.tenantId,
    operatorId: auth.operatorId,
    challenge: options.challenge,
    rp,
  });
  return options;
}

/** Step 2: the authenticator's answer, verified against this session's challenge, becomes a passkey. */
export async function registerPasskey(
  deps: D,
  auth: OperatorAuth,
  response: RegistrationResponseJSON,
  name: string,
): Promise<TPasskey> {
  requireFull(auth);
  requireStepUp(deps, auth);
  const ch = await useChallenge(deps, auth.sessionHash, 'register', auth.operatorId, () => rejected('challenge'));
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: ch.challenge,
      expectedOrigin: ch.origin,
      expectedRPID: ch.rp_id,
      requireUserVerification: true,
    });
  } catch (err) {
    throw rejected('verification', (err as Error).message);
  }
  if (!verified.verified) throw rejected('verification');
  const info = verified.registrationInfo;
  const row = await withTransaction(deps.db, async (trx) => {
    const added = await repo.insertPasskey(trx, {
      id: newId('pky'),
      tenant_id: auth.tenantId,
      operator_id: auth.operatorId,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey),
      rp_id: ch.rp_id,
      sign_count: info.credential.counter,
      transports: info.credential.transports ?? [],
      aaguid: info.aaguid,
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp,
      name,
    });
    if (added)
      await recordChange({ db: trx }, auth.tenantId, {
        actorId: auth.operatorId,
        operatorId: auth.operatorId,
        change: 'passkey_added',
        after: { passkeyId: added.id, name, deviceType: added.device_type, backedUp: added.backed_up },
      });
    return added;
  });
  if (!row) throw rejected('registered');
  return toPasskey(row);
}

export async function listPasskeys(deps: D, auth: OperatorAuth): Promise<TPasskey[]> {
  requireFull(auth);
  return (await repo.listPasskeys(deps.db, auth.operatorId)).map(toPasskey);
}

/** Removes one of the operator's passkeys (a recent second factor needed, as for adding one). */
export async function removePasskey(deps: D, auth: OperatorAuth, id: string): Promise<void> {
  requireFull(auth);
  requireStepUp(deps, auth);
  await withTransaction(deps.db, async (trx) => {
    const removed = await repo.deletePasskey(trx, auth.operatorId, id);
    if (!removed) throw new AppError('NOT_FOUND', `No passkey ${id}.`, { passkeyId: id });
    await recordChange({ db: trx }, auth.tenantId, {
      actorId: auth.operatorId,
      operatorId: auth.operatorId,
      change: 'passkey_removed',
      before: { passkeyId: id, name: removed.name },
    });
  });
}

/**
 * Checks an assertion with a passkey and takes its signature counter. The library checks the
 * challenge, origin, RP ID, flags and signature; the counter is compared here (against the stored
 * one, then once more in the conditional update), so a lower one has its own reason and a log line.
 */
async function checkAssertion(
  deps: D,
  passkey: OperatorPasskeyRow,
  ch: OperatorWebauthnChallengeTable,
  response: AuthenticationResponseJSON,
  requireUserVerification: boolean,
): Promise<void> {
  let counter: number;
  try {
    const v = await verifyAuthenticationResponse({
      response,
      expectedChallenge: ch.challenge,
      expectedOrigin: ch.origin,
      expectedRPID: ch.rp_id,
      // Counter 0 here: the library then leaves the counter to us.
      credential: { id: passkey.credential_id, publicKey: new Uint8Array(passkey.public_key), counter: 0 },
      requireUserVerification,
    });
    if (!v.verified) throw refused('signature');
    if (requireUserVerification && !v.authenticationInfo.userVerified) throw refused('user_verification');
    counter = v.authenticationInfo.newCounter;
  } catch (err) {
    if (isAppError(err)) throw err;
    throw refused(/user verification/i.test((err as Error).message) ? 'user_verification' : 'signature');
  }
  const now = deps.clock.now();
  const lower = (counter > 0 || passkey.sign_count > 0) && counter <= passkey.sign_count;
  if (lower || !(await repo.advanceSignCount(deps.db, passkey.id, counter, now))) {
    deps.log.warn(
      { operatorId: passkey.operator_id, passkeyId: passkey.id, counter, stored: passkey.sign_count },
      'passkey signature counter did not increase: refused (a cloned authenticator?)',
    );
    throw refused('counter');
  }
}

/** Options for navigator.credentials.get() with one of the session's operator's passkeys (step 2 or step-up). */
export async function authenticationOptions(
  deps: D,
  auth: OperatorAuth,
  rp: RelyingParty,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  if (auth.stage === 'enrol') throw new AppError('SECOND_FACTOR_REQUIRED', 'Enrol a second factor first.', { stage: 'enrol' });
  const passkeys = (await repo.listPasskeys(deps.db, auth.operatorId)).filter((p) => p.rp_id === rp.id);
  if (passkeys.length === 0)
    throw new AppError('NOT_FOUND', 'No passkey is registered for this console: use the authenticator app or a recovery code.', {
      factor: 'passkey',
    });
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: passkeys.map((p) => ({ id: p.credential_id, transports: p.transports })),
    // After the password, holding the passkey is the second factor: verification is welcome, not required.
    userVerification: 'preferred',
    timeout: CEREMONY_TIMEOUT_MS,
  });
  await newChallenge(deps, auth.sessionHash, {
    purpose: 'authenticate',
    tenantId: auth.tenantId,
    operatorId: auth.operatorId,
    challenge: options.challenge,
    rp,
  });
  return options;
}

/**
 * A passkey as the second factor (a session past the password: it becomes signed in) or as a
 * step-up (a signed-in session: a recent second factor). Either way a new session id.
 */
export async function verifyPasskey(
  deps: D,
  auth: OperatorAuth,
  response: AuthenticationResponseJSON,
  ip?: string,
): Promise<NewSession> {
  if (auth.stage === 'enrol') throw new AppError('SECOND_FACTOR_REQUIRED', 'Enrol a second factor first.', { stage: 'enrol' });
  await limitSecretCheck(deps, OPERATOR_SCOPE, { kind: 'operator_passkey', credential: auth.operatorId, ip });
  const ch = await useChallenge(deps, auth.sessionHash, 'authenticate', auth.operatorId, () => refused('challenge'));
  const passkey = await repo.findPasskeyByCredential(deps.db, response.id);
  if (!passkey || passkey.operator_id !== auth.operatorId) throw refused('unknown');
  await checkAssertion(deps, passkey, ch, response, false);
  return rotate(deps, auth, 'full', deps.clock.now());
}

/**
 * Options for signing in with a passkey alone (no e-mail: the authenticator offers its passkeys
 * for this console). The challenge is bound to the returned token, which the browser keeps in a
 * short cookie.
 */
export async function signInOptions(
  deps: D,
  rp: RelyingParty,
  ip?: string,
): Promise<{ token: string; expiresAt: Date; options: PublicKeyCredentialRequestOptionsJSON }> {
  // Each call stores a row: limited per client address.
  const client = piiFor(deps.masterKey).hash(OPERATOR_SCOPE, 'client-ip', ip ?? '');
  await limitSecretCheck(deps, OPERATOR_SCOPE, { kind: 'operator_passkey_options', credential: client, ip });
  const token = `opk_${randomBytes(32).toString('base64url')}`;
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'required',
    timeout: CEREMONY_TIMEOUT_MS,
  });
  const expiresAt = await newChallenge(deps, sha256(token), {
    purpose: 'sign_in',
    tenantId: null,
    operatorId: null,
    challenge: options.challenge,
    rp,
  });
  return { token, expiresAt, options };
}

/** Signs in with a passkey that verified its user: both factors at once, a full session. */
export async function signInWithPasskey(
  deps: D,
  token: string | undefined,
  response: AuthenticationResponseJSON,
  meta: { ip?: string; userAgent?: string },
): Promise<NewSession & { operatorId: string }> {
  const passkey = await repo.findPasskeyByCredential(deps.db, response.id);
  await limitSecretCheck(deps, OPERATOR_SCOPE, {
    kind: 'operator_passkey',
    credential: passkey?.operator_id ?? response.id,
    ip: meta.ip,
  });
  if (!token) throw refused('challenge');
  const ch = await useChallenge(deps, sha256(token), 'sign_in', null, () => refused('challenge'));
  const operator = passkey && (await findOperator(deps.db, passkey.tenant_id, passkey.operator_id));
  const handle = response.response.userHandle;
  if (
    !passkey ||
    !operator ||
    operator.status === 'removed' ||
    (handle !== undefined && handle !== Buffer.from(userHandle(operator.id)).toString('base64url'))
  )
    throw refused('unknown');
  await checkAssertion(deps, passkey, ch, response, true);
  if (operator.status === 'suspended') throw new AppError('OPERATOR_SUSPENDED', 'This operator account is suspended.');
  const session = await openSession(deps, operator, 'full', { ...meta, secondFactorAt: deps.clock.now() });
  return { ...session, operatorId: operator.id };
}
