import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { isKoreanMobile, normalizePhone, piiFor } from '../../platform/pii.ts';
import * as repo from './identity.repository.ts';
import { isIsoDate } from '../../platform/clock.ts';
import { CARRIERS, PROVIDER_FAILURES, sandboxCi, sandboxDi, type Carrier, type VerifiedIdentity } from './identity.rules.ts';

// The sandbox provider's side: its test people, and what happens when a tester submits its page.

export const SANDBOX_OUTCOMES = ['success', ...PROVIDER_FAILURES] as const;
export type SandboxOutcome = (typeof SANDBOX_OUTCOMES)[number];

export type SandboxPerson = Omit<VerifiedIdentity, 'ci' | 'di'> & { key: string };

/** Test people: adults on each kind of carrier, a foreign resident, and a child (UNDER_AGE). */
export const SANDBOX_PEOPLE: readonly SandboxPerson[] = [
  { key: 'hong', name: '홍길동', birthDate: '1990-01-01', gender: 'male', nationality: 'domestic', carrier: 'SKT', phone: '01012345678' },
  { key: 'kim', name: '김민지', birthDate: '1985-07-15', gender: 'female', nationality: 'domestic', carrier: 'KT', phone: '01023456789' },
  { key: 'park', name: '박서연', birthDate: '2001-03-09', gender: 'female', nationality: 'domestic', carrier: 'LGU_MVNO', phone: '01034567890' },
  { key: 'smith', name: 'John Smith', birthDate: '1992-11-30', gender: 'male', nationality: 'foreign', carrier: 'LGU', phone: '01045678901' },
  { key: 'choi', name: '최지우', birthDate: '1978-09-21', gender: 'female', nationality: 'domestic', carrier: 'SKT_MVNO', phone: '01067890123' },
  { key: 'lee-child', name: '이서준', birthDate: '2016-05-05', gender: 'male', nationality: 'domestic', carrier: 'SKT', phone: '01056789012' },
];

export type SandboxSubmission = {
  outcome?: string;
  person?: string;
  name?: string;
  birthDate?: string;
  gender?: string;
  nationality?: string;
  carrier?: string;
  phone?: string;
};

/** The pending verification behind a sandbox page, or why the page cannot be used. */
export async function sandboxRequest(deps: Pick<Deps, 'db' | 'clock'>, requestNo: string) {
  const v = await repo.findByRequestNo(deps.db, requestNo);
  if (!v || v.provider !== 'sandbox') throw new AppError('NOT_FOUND', 'No verification request with this number.');
  if (v.status !== 'pending' || v.expires_at <= deps.clock.now() || (await repo.findSandboxResult(deps.db, requestNo))) {
    throw new AppError('VERIFICATION_NOT_PENDING', 'This verification request was already used or has expired.', { requestNo });
  }
  return v;
}

function typedPerson(s: SandboxSubmission): Omit<VerifiedIdentity, 'ci' | 'di'> {
  const name = (s.name ?? '').trim();
  if (name.length < 1 || name.length > 50) throw fieldError('name', '1-50 characters');
  if (!s.birthDate || !isIsoDate(s.birthDate)) throw fieldError('birthDate', 'a date as YYYY-MM-DD');
  if (s.gender !== 'male' && s.gender !== 'female') throw fieldError('gender', 'male or female');
  if (s.nationality !== 'domestic' && s.nationality !== 'foreign') throw fieldError('nationality', 'domestic or foreign');
  if (!CARRIERS.includes(s.carrier as Carrier)) throw fieldError('carrier', CARRIERS.join(', '));
  const phone = normalizePhone(s.phone ?? '');
  if (!isKoreanMobile(phone)) throw fieldError('phone', 'a Korean mobile number (010…)');
  return { name, birthDate: s.birthDate, gender: s.gender, nationality: s.nationality, carrier: s.carrier as Carrier, phone };
}

/**
 * Records the tester's choice for a request number (the first one counts) and returns where the
 * browser goes next: the return URL, carrying only the verification id and the request number.
 */
export async function submitSandbox(deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>, requestNo: string, s: SandboxSubmission): Promise<string> {
  const v = await sandboxRequest(deps, requestNo);
  if (!SANDBOX_OUTCOMES.includes(s.outcome as SandboxOutcome)) throw fieldError('outcome', SANDBOX_OUTCOMES.join(', '));
  let sealed: string | null = null;
  if (s.outcome === 'success') {
    const chosen = s.person && s.person !== 'custom' ? SANDBOX_PEOPLE.find((p) => p.key === s.person) : undefined;
    if (s.person && s.person !== 'custom' && !chosen) throw fieldError('person', 'one of the test people, or custom');
    const { key: _key, ...base } = chosen ?? { key: '', ...typedPerson(s) };
    // i-PIN proves the person, not a phone line.
    const person = v.method === 'ipin' ? { ...base, carrier: null, phone: null } : base;
    sealed = piiFor(deps.masterKey).seal({ ...person, ci: sandboxCi(person), di: sandboxDi(v.tenant_id, person) } satisfies VerifiedIdentity);
  }
  if (!(await repo.recordSandboxResult(deps.db, requestNo, s.outcome!, sealed))) {
    throw new AppError('VERIFICATION_NOT_PENDING', 'This verification request was already used or has expired.', { requestNo });
  }
  const back = new URL(v.return_url);
  back.searchParams.set('verificationId', v.id);
  back.searchParams.set('requestNo', requestNo);
  return back.toString();
}
