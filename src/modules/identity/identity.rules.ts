import { createHmac } from 'node:crypto';
import { localDate } from '../../platform/clock.ts';

// What a verification proves and the rules applied to it, independent of any provider.

export const CARRIERS = ['SKT', 'KT', 'LGU', 'SKT_MVNO', 'KT_MVNO', 'LGU_MVNO'] as const;
export type Carrier = (typeof CARRIERS)[number];

/** The person a provider vouches for (fields as the Korean services return them). */
export type VerifiedIdentity = {
  name: string;
  /** YYYY-MM-DD */
  birthDate: string;
  gender: 'male' | 'female';
  nationality: 'domestic' | 'foreign';
  /** null for i-PIN */
  carrier: Carrier | null;
  /** digits only; null for i-PIN */
  phone: string | null;
  /** 연계정보: 88 characters, the same for one person everywhere */
  ci: string;
  /** 중복가입확인정보: 64 characters, unique within one site (tenant) */
  di: string;
};

/** What a provider reports when a person could not be verified: stable codes the caller branches on. */
export const PROVIDER_FAILURES = [
  'PHONE_NOT_OWN_NAME',
  'CORPORATE_PHONE',
  'PREPAID_PHONE',
  'VERIFICATION_CANCELLED',
  'VERIFICATION_TIMED_OUT',
  'PROVIDER_ERROR',
] as const;
export type ProviderFailure = (typeof PROVIDER_FAILURES)[number];

/** Why a verification failed: a provider's reason, or UNDER_AGE, checked here on the verified birth date. */
export const FAILURE_REASONS = [...PROVIDER_FAILURES, 'UNDER_AGE'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Age in full years (만 나이) on a day given as YYYY-MM-DD. */
export function ageOn(birthDate: string, day: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** Age in full years at an instant, counted in Korea, where the age rules apply. */
export const koreanAge = (birthDate: string, at: Date) => ageOn(birthDate, localDate(at, 'Asia/Seoul'));

// The sandbox's stand-ins for CI and DI: derived from the person (and, for DI, the site), so the
// same test person always gets the same CI, in every tenant, and the same DI within one tenant.
type Person = Pick<VerifiedIdentity, 'name' | 'birthDate' | 'gender' | 'nationality'>;
const personKey = (p: Person) => [p.name.normalize('NFC'), p.birthDate, p.gender, p.nationality].join('|');

export const sandboxCi = (p: Person) => createHmac('sha512', 'moa-sandbox-ci').update(personKey(p)).digest('base64');
export const sandboxDi = (siteCode: string, p: Person) =>
  createHmac('sha256', `moa-sandbox-di:${siteCode}`).update(personKey(p)).digest('hex');
