import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError } from '../../platform/errors.ts';
import { newId, randomToken } from '../../platform/ids.ts';
import { maskName, maskPhone, piiFor } from '../../platform/pii.ts';
import { getAccount, inTransaction, openAccount, systemAccount } from '../ledger/index.ts';
import { getTenant } from '../tenants/index.ts';
import type { IdentityProvider } from './identity.provider.ts';
import * as repo from './identity.repository.ts';
import { type FailureReason, koreanAge, type VerifiedIdentity } from './identity.rules.ts';
import type { TStartVerificationRequest, TVerification, TVerificationUnits } from './identity.schemas.ts';
import type { IdentityVerificationRow, VerificationPurpose } from './identity.tables.ts';

/** How long a person has to finish on the provider's page (at most 15 minutes, by our rules). */
export const VERIFICATION_TTL_SECONDS = 15 * 60;
// The unit held by a live verification outlives it by a day: the settle job always resolves the
// verification (using or releasing the unit) long before the ledger's own hold expiry would.
const HOLD_TIMEOUT_SECONDS = VERIFICATION_TTL_SECONDS + 86_400;

type IdentityDeps = Pick<Deps, 'db' | 'clock' | 'masterKey' | 'log' | 'providers'>;

/** The configured provider (IDENTITY_PROVIDER), built once in src/providers.ts. */
const providerFor = (deps: Pick<Deps, 'providers'>): IdentityProvider => deps.providers.identity;

const unitLeg = async (deps: Pick<Deps, 'db'>, tenantId: string) => ({
  units: await unitsAccount(deps, tenantId),
  usage: await systemAccount(deps, tenantId, 'VERIFICATION', 'revenue'),
});

/** The tenant's VERIFICATION account: one unit per successful live verification. */
export const unitsAccount = (deps: Pick<Deps, 'db'>, tenantId: string) =>
  openAccount(deps, tenantId, {
    ledger: 'VERIFICATION',
    ownerType: 'tenant',
    ownerId: tenantId,
    kind: 'units',
    debitsMustNotExceedCredits: true,
  });

const holdId = (id: string) => `${id}:hold`;

export function toVerificationDto(
  row: IdentityVerificationRow,
  deps: Pick<Deps, 'masterKey' | 'clock'>,
  provider: IdentityProvider,
): TVerification {
  let identity: TVerification['identity'] = null;
  if (row.identity_sealed) {
    const p = piiFor(deps.masterKey).open<VerifiedIdentity>(row.identity_sealed);
    identity = {
      name: maskName(p.name),
      birthYear: Number(p.birthDate.slice(0, 4)),
      age: koreanAge(p.birthDate, deps.clock.now()),
      gender: p.gender,
      nationality: p.nationality,
      carrier: p.carrier,
      phone: p.phone ? maskPhone(p.phone) : null,
    };
  }
  return {
    id: row.id,
    requestNo: row.request_no,
    provider: row.provider,
    purpose: row.purpose,
    method: row.method,
    mode: row.mode,
    status: row.status,
    reason: row.reason as FailureReason | null,
    minAge: row.min_age,
    redirectUrl: row.status === 'pending' ? provider.pageFor(row.request_no) : null,
    identity,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
  };
}

/**
 * Starts a verification: a single-use request number and, for a live one, one VERIFICATION unit
 * held, so that two verifications can never both use the last unit. With no unit left it fails
 * with VERIFICATION_QUOTA_EXHAUSTED before the person is sent anywhere.
 */
export async function startVerification(
  deps: IdentityDeps,
  tenantId: string,
  input: TStartVerificationRequest,
): Promise<TVerification> {
  const provider = providerFor(deps);
  return withTransaction(deps.db, async (trx) => {
    const id = newId('idv');
    const mode = input.preview ? 'preview' : 'live';
    if (mode === 'live') {
      const { units, usage } = await unitLeg({ db: trx }, tenantId);
      const held = await inTransaction(trx).hold({
        tenantId,
        id: holdId(id),
        code: 'VERIFICATION_RESERVE',
        reference: id,
        legs: [{ debit: units.id, credit: usage.id, amount: 1, ledger: 'VERIFICATION' }],
        timeoutSeconds: HOLD_TIMEOUT_SECONDS,
      });
      if (held.status === 'rejected') {
        throw new AppError(
          'VERIFICATION_QUOTA_EXHAUSTED',
          'No verification units are left. Top up to start live verifications.',
          {
            available: held.rejection.available ?? 0,
          },
        );
      }
    }
    const row = await repo.insertVerification(trx, {
      tenant_id: tenantId,
      id,
      request_no: randomToken(26),
      provider: provider.name,
      purpose: input.purpose,
      method: input.method,
      mode,
      return_url: input.returnUrl,
      min_age: input.minAge,
      reason: null,
      identity_sealed: null,
      ci_hash: null,
      expires_at: new Date(deps.clock.now().getTime() + VERIFICATION_TTL_SECONDS * 1000),
      completed_at: null,
    });
    return toVerificationDto(row, deps, provider);
  });
}

export async function getVerification(deps: IdentityDeps, tenantId: string, id: string): Promise<TVerification> {
  const row = await repo.findVerification(deps.db, tenantId, id);
  if (!row) throw new AppError('NOT_FOUND', `No verification ${id}.`);
  return toVerificationDto(row, deps, providerFor(deps));
}

/**
 * Asks the provider for the result (server to server) and settles the verification: verified (the
 * held unit is used), or failed with its reason (the unit is released). Past its deadline with no
 * result it fails with VERIFICATION_TIMED_OUT. Settling twice returns the settled state.
 */
export async function completeVerification(deps: IdentityDeps, tenantId: string, id: string): Promise<TVerification> {
  const provider = providerFor(deps);
  const before = await repo.findVerification(deps.db, tenantId, id);
  if (!before) throw new AppError('NOT_FOUND', `No verification ${id}.`);
  if (before.status !== 'pending') return toVerificationDto(before, deps, provider);
  // Outside the transaction: a real provider is a network call, never made while holding locks.
  const outcome = await provider.fetchResult(before.request_no);
  const now = deps.clock.now();

  return withTransaction(deps.db, async (trx) => {
    const row = (await repo.findVerification(trx, tenantId, id, { forUpdate: true }))!;
    if (row.status !== 'pending') return toVerificationDto(row, deps, provider);

    let settled: { reason: FailureReason } | { identity: VerifiedIdentity };
    if (outcome.status === 'pending' || outcome.decidedAt > row.expires_at) {
      if (now < row.expires_at) return toVerificationDto(row, deps, provider); // the person is not done yet
      settled = { reason: 'VERIFICATION_TIMED_OUT' };
    } else if (outcome.status === 'failed') {
      settled = { reason: outcome.reason };
    } else if (koreanAge(outcome.identity.birthDate, now) < row.min_age) {
      settled = { reason: 'UNDER_AGE' };
    } else {
      settled = { identity: outcome.identity };
    }

    if (row.mode === 'live') {
      const ledger = inTransaction(trx);
      const result =
        'identity' in settled
          ? await ledger.captureHold({ tenantId, id: `${id}:use`, holdId: holdId(id), code: 'VERIFICATION_USE', reference: id })
          : await ledger.voidHold({
              tenantId,
              id: `${id}:release`,
              holdId: holdId(id),
              code: 'VERIFICATION_RELEASE',
              reference: id,
            });
      if (result.status === 'rejected') {
        // Only if the settle job did not run for a day: the hold was released by the ledger's expiry.
        deps.log.warn({ verificationId: id, rejection: result.rejection }, 'verification unit hold already released');
      }
    }

    const pii = piiFor(deps.masterKey);
    const updated = await repo.settleVerification(
      trx,
      tenantId,
      id,
      'identity' in settled
        ? {
            status: 'verified',
            reason: null,
            identitySealed: pii.seal(settled.identity),
            ciHash: pii.hash(tenantId, 'ci', settled.identity.ci),
          }
        : { status: 'failed', reason: settled.reason, identitySealed: null, ciHash: null },
    );
    return toVerificationDto(updated, deps, provider);
  });
}

/** How long a verified result can be used for the step it was made for. */
export const VERIFICATION_USE_WITHIN_SECONDS = 30 * 60;

export type UsedVerification = { id: string; identity: VerifiedIdentity; ciHash: string };

/**
 * Uses a verified verification for the step it was made for (a sign-up, a password reset, …), once,
 * inside the caller's transaction. A failed one throws its reason (PHONE_NOT_OWN_NAME, UNDER_AGE,
 * …); one that is pending, for another purpose, a preview, already used or older than 30 minutes
 * throws VERIFICATION_NOT_USABLE.
 */
export async function useVerification(
  deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>,
  tenantId: string,
  id: string,
  purpose: VerificationPurpose,
  usedFor: string,
): Promise<UsedVerification> {
  const row = await repo.findVerification(deps.db, tenantId, id, { forUpdate: true });
  if (!row) throw new AppError('NOT_FOUND', `No verification ${id}.`);
  if (row.status === 'failed')
    throw new AppError(row.reason as FailureReason, `Verification ${id} failed: ${row.reason}.`, { verificationId: id });
  const unusable = (why: string, message: string) =>
    new AppError('VERIFICATION_NOT_USABLE', message, { verificationId: id, why });
  if (row.status !== 'verified') throw unusable('pending', 'The verification is not complete: call complete first.');
  if (row.purpose !== purpose) throw unusable('purpose', `The verification was made for ${row.purpose}, not ${purpose}.`);
  if (row.mode === 'preview') throw unusable('preview', 'A preview verification cannot be used.');
  if (row.used_at) throw unusable('used', 'The verification was already used.');
  if (deps.clock.now().getTime() - row.completed_at!.getTime() > VERIFICATION_USE_WITHIN_SECONDS * 1000) {
    throw unusable('stale', 'The verification is older than 30 minutes: verify again.');
  }
  if (!(await repo.markUsed(deps.db, tenantId, id, usedFor))) throw unusable('used', 'The verification was already used.');
  return { id, identity: piiFor(deps.masterKey).open<VerifiedIdentity>(row.identity_sealed!), ciHash: row.ci_hash! };
}

/** The settle job: verifications past their deadline get the provider's answer or time out. */
export async function settleDueVerifications(deps: IdentityDeps, limit = 500): Promise<number> {
  const due = await repo.duePending(deps.db, deps.clock.now(), limit);
  for (const v of due) await completeVerification(deps, v.tenant_id, v.id);
  return due.length;
}

/** Adds units to a tenant's VERIFICATION account (until tenant billing sells them in packs). */
export async function grantVerificationUnits(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  grant: { units: number; memo?: string; id?: string },
): Promise<TVerificationUnits> {
  await getTenant(deps, tenantId);
  await withTransaction(deps.db, async (trx) => {
    const units = await unitsAccount({ db: trx }, tenantId);
    const issuance = await systemAccount({ db: trx }, tenantId, 'VERIFICATION', 'issuance');
    const result = await inTransaction(trx).post({
      tenantId,
      id: grant.id ?? newId('vgr'),
      code: 'VERIFICATION_GRANT',
      memo: grant.memo,
      legs: [{ debit: issuance.id, credit: units.id, amount: grant.units, ledger: 'VERIFICATION' }],
    });
    if (result.status === 'rejected')
      throw new AppError('CONFLICT', 'The grant was rejected by the ledger.', { ...result.rejection });
  });
  return verificationUnits(deps, tenantId);
}

export async function verificationUnits(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TVerificationUnits> {
  const account = await getAccount(deps, tenantId, (await unitsAccount(deps, tenantId)).id);
  const counts = await repo.verifiedCounts(deps.db, tenantId);
  return {
    available: account.balance.available,
    held: -account.balance.pending,
    used: counts.live,
    previewVerified: counts.preview,
    accountId: account.id,
  };
}
