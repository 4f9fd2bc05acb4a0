import type { IdentityVerification, IdentityVerificationVerifiedCustomer } from '@portone/server-sdk/identityVerification';
import { AppError } from '../../platform/errors.ts';
import {
  type PortOneErrorBody,
  type PortOneOptions,
  PortOneUnreachable,
  portoneApi,
  storeQuery,
} from '../../platform/portone-api.ts';
import type { IdentityProvider, ProviderOutcome } from './identity.provider.ts';
import { CARRIERS, type Carrier, type VerifiedIdentity } from './identity.rules.ts';

// PortOne V2 본인인증 (https://developers.portone.io/opi/ko/extra/identity-verification/readme-v2).
// The brand's page calls PortOne's browser SDK, `PortOne.requestIdentityVerification({ storeId,
// channelKey, identityVerificationId })`, with our request number as the identityVerificationId;
// then our server looks the result up, server to server:
// `GET /identity-verifications/{identityVerificationId}` with `Authorization: PortOne <secret>`.
// Nothing the browser reports is trusted: only this lookup settles a verification.

export type PortOneIdentityOptions = PortOneOptions & {
  /**
   * What `redirectUrl` says while a verification is pending. PortOne has no page of ours to send the
   * browser to (its SDK opens the carrier's window), so by default it is a `portone:` URI naming
   * the call the brand's page makes.
   */
  pageFor?: ((requestNo: string) => string) | undefined;
};

/** Why a lookup could not be used: the adapter's words for PortOne's error types. */
function lookupFailed(requestNo: string, status: number, error: PortOneErrorBody): AppError {
  // UNAUTHORIZED / FORBIDDEN: our secret or store is wrong, an operator must fix the configuration;
  // INVALID_REQUEST: we sent something PortOne cannot read. The person can do nothing about either.
  return new AppError('PROVIDER_ERROR', `PortOne refused the identity verification lookup (${error.type}).`, {
    provider: 'portone',
    providerError: error.type,
    providerStatus: status,
    requestNo,
  });
}

const carrierOf = (operator: string | undefined): Carrier | null =>
  operator && (CARRIERS as readonly string[]).includes(operator) ? (operator as Carrier) : null;

/** PortOne's verified customer in our terms, or why it cannot be used (a field we need is absent). */
export function toVerifiedIdentity(c: IdentityVerificationVerifiedCustomer): VerifiedIdentity | { missing: string[] } {
  const gender = c.gender === 'MALE' ? 'male' : c.gender === 'FEMALE' ? 'female' : undefined;
  const missing = [
    ...(c.name ? [] : ['name']),
    ...(c.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(c.birthDate) ? [] : ['birthDate']),
    ...(gender ? [] : ['gender']),
    ...(c.ci ? [] : ['ci']),
    ...(c.di ? [] : ['di']),
  ];
  if (missing.length > 0) return { missing };
  const phone = c.phoneNumber?.replace(/\D/g, '') || null;
  return {
    name: c.name.normalize('NFC'),
    birthDate: c.birthDate!,
    gender: gender!,
    nationality: c.isForeigner ? 'foreign' : 'domestic',
    carrier: phone ? carrierOf(c.operator) : null,
    phone,
    ci: c.ci!,
    di: c.di!,
  };
}

/** The identity provider backed by PortOne V2 identity verification. */
export function portoneIdentityProvider(options: PortOneIdentityOptions): IdentityProvider {
  const api = portoneApi(options);
  const pageFor =
    options.pageFor ??
    ((requestNo: string) =>
      `portone:requestIdentityVerification?${new URLSearchParams({ identityVerificationId: requestNo, ...(options.storeId ? { storeId: options.storeId } : {}) })}`);
  return {
    name: 'portone',
    pageFor,
    async fetchResult(requestNo): Promise<ProviderOutcome> {
      let res;
      try {
        res = await api.request<IdentityVerification>(
          'GET',
          `/identity-verifications/${encodeURIComponent(requestNo)}${storeQuery(api.storeId)}`,
        );
      } catch (err) {
        if (!(err instanceof PortOneUnreachable)) throw err;
        throw new AppError('PROVIDER_ERROR', 'PortOne could not be reached; try again.', { provider: 'portone', requestNo });
      }
      if (!res.ok) {
        // PortOne knows a verification only once the person's browser requested it: until then,
        // and while it is READY, the person is not done (the settle job times it out at the deadline).
        if (res.error.type === 'IDENTITY_VERIFICATION_NOT_FOUND') return { status: 'pending' };
        throw lookupFailed(requestNo, res.status, res.error);
      }
      const v = res.data;
      if (!('id' in v) || v.id !== requestNo) {
        throw new AppError('PROVIDER_ERROR', 'PortOne answered for another identity verification.', {
          provider: 'portone',
          requestNo,
        });
      }
      switch (v.status) {
        case 'READY':
          return { status: 'pending' };
        case 'FAILED':
          // PortOne reports the carrier's failure as free text (failure.reason, pgCode, pgMessage),
          // with no stable code to tell a cancel from a carrier refusal: the person may try again.
          return { status: 'failed', reason: 'PROVIDER_ERROR', decidedAt: new Date(v.statusChangedAt) };
        case 'VERIFIED': {
          const identity = toVerifiedIdentity(v.verifiedCustomer);
          if ('missing' in identity) {
            // A channel that does not return CI/DI (e.g. a contract without them) cannot anchor a member.
            throw new AppError(
              'PROVIDER_ERROR',
              `PortOne's result lacks ${identity.missing.join(', ')}: check the channel's contract.`,
              {
                provider: 'portone',
                requestNo,
                missing: identity.missing,
              },
            );
          }
          return { status: 'verified', identity, decidedAt: new Date(v.verifiedAt) };
        }
        default:
          throw new AppError(
            'PROVIDER_ERROR',
            `PortOne reported an unknown status ${String((v as { status: unknown }).status)}.`,
            { provider: 'portone', requestNo },
          );
      }
    },
  };
}
