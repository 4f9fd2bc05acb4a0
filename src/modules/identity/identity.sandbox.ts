import { randomBytes, randomInt } from 'node:crypto';
import { isIsoDate } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { piiFor } from '../../platform/pii.ts';
import type { IdentityProvider } from './identity.provider.ts';
import * as repo from './identity.repository.ts';
import {
  CARRIERS,
  type Carrier,
  PROVIDER_FAILURES,
  type ProviderFailure,
  sandboxCi,
  sandboxDi,
  type VerifiedIdentity,
} from './identity.rules.ts';

// The sandbox provider's side: its test people, and what happens when a tester submits its page.
// It is mounted only when IDENTITY_PROVIDER=sandbox (see config.ts: never with DATABASE_URL unless
// MOA_ALLOW_SANDBOX=true).

/**
 * The sandbox provider: its page is served by Moa (/sandbox/identity/{requestNo}), where a tester
 * picks a test person (or a new one) and an outcome. What was picked is kept in
 * identity_sandbox_result, as a real provider keeps it on its side.
 */
export function sandboxIdentityProvider(deps: Pick<Deps, 'db' | 'masterKey'>): IdentityProvider {
  return {
    name: 'sandbox',
    pageFor: (requestNo) => `/sandbox/identity/${requestNo}`,
    async fetchResult(requestNo) {
      const row = await repo.findSandboxResult(deps.db, requestNo);
      if (!row) return { status: 'pending' };
      if (row.outcome !== 'success')
        return { status: 'failed', reason: row.outcome as ProviderFailure, decidedAt: row.decided_at };
      return {
        status: 'verified',
        identity: piiFor(deps.masterKey).open<VerifiedIdentity>(row.identity_sealed!),
        decidedAt: row.decided_at,
      };
    },
  };
}

export const SANDBOX_OUTCOMES = ['success', ...PROVIDER_FAILURES] as const;
export type SandboxOutcome = (typeof SANDBOX_OUTCOMES)[number];

export type SandboxPerson = Omit<VerifiedIdentity, 'ci' | 'di'> & { key: string };

/**
 * Test people: adults on each kind of carrier, a foreign resident, a child (UNDER_AGE), and 홍길동
 * again on a new number (the same person, so the same CI: for a phone change). Their CI is derived
 * from these fixed details, so anyone can be them: they stand for nobody real.
 */
export const SANDBOX_PEOPLE: readonly SandboxPerson[] = [
  {
    key: 'hong',
    name: '홍길동',
    birthDate: '1990-01-01',
    gender: 'male',
    nationality: 'domestic',
    carrier: 'SKT',
    phone: '01012345678',
  },
  {
    key: 'kim',
    name: '김민지',
    birthDate: '1985-07-15',
    gender: 'female',
    nationality: 'domestic',
    carrier: 'KT',
    phone: '01023456789',
  },
  {
    key: 'park',
    name: '박서연',
    birthDate: '2001-03-09',
    gender: 'female',
    nationality: 'domestic',
    carrier: 'LGU_MVNO',
    phone: '01034567890',
  },
  {
    key: 'smith',
    name: 'John Smith',
    birthDate: '1992-11-30',
    gender: 'male',
    nationality: 'foreign',
    carrier: 'LGU',
    phone: '01045678901',
  },
  {
    key: 'choi',
    name: '최지우',
    birthDate: '1978-09-21',
    gender: 'female',
    nationality: 'domestic',
    carrier: 'SKT_MVNO',
    phone: '01067890123',
  },
  {
    key: 'lee-child',
    name: '이서준',
    birthDate: '2016-05-05',
    gender: 'male',
    nationality: 'domestic',
    carrier: 'SKT',
    phone: '01056789012',
  },
  {
    key: 'hong-new-phone',
    name: '홍길동',
    birthDate: '1990-01-01',
    gender: 'male',
    nationality: 'domestic',
    carrier: 'KT',
    phone: '01098765432',
  },
];

export type SandboxSubmission = {
  outcome?: string;
  person?: string;
  name?: string;
  birthDate?: string;
  gender?: string;
  nationality?: string;
  carrier?: string;
};

/** The pending verification behind a sandbox page, or why the page cannot be used. */
export async function sandboxRequest(deps: Pick<Deps, 'db' | 'clock'>, requestNo: string) {
  const v = await repo.findByRequestNo(deps.db, requestNo);
  if (v?.provider !== 'sandbox') throw new AppError('NOT_FOUND', 'No verification request with this number.');
  if (v.status !== 'pending' || v.expires_at <= deps.clock.now() || (await repo.findSandboxResult(deps.db, requestNo))) {
    throw new AppError('VERIFICATION_NOT_PENDING', 'This verification request was already used or has expired.', { requestNo });
  }
  return v;
}

/**
 * A new test person: the tester types the name, birth date, gender, nationality and carrier; the
 * provider issues the CI, DI and phone number, at random. Nothing typed can give the CI (or the
 * name and phone) of an existing member, so a form can never stand in for someone else.
 */
function newPerson(s: SandboxSubmission): VerifiedIdentity {
  const name = (s.name ?? '').trim();
  if (name.length < 1 || name.length > 50) throw fieldError('name', '1-50 characters');
  if (!s.birthDate || !isIsoDate(s.birthDate)) throw fieldError('birthDate', 'a date as YYYY-MM-DD');
  if (s.gender !== 'male' && s.gender !== 'female') throw fieldError('gender', 'male or female');
  if (s.nationality !== 'domestic' && s.nationality !== 'foreign') throw fieldError('nationality', 'domestic or foreign');
  if (!CARRIERS.includes(s.carrier as Carrier)) throw fieldError('carrier', CARRIERS.join(', '));
  return {
    name,
    birthDate: s.birthDate,
    gender: s.gender,
    nationality: s.nationality,
    carrier: s.carrier as Carrier,
    phone: `010${randomInt(20_000_000, 100_000_000)}`,
    ci: randomBytes(66).toString('base64'),
    di: randomBytes(32).toString('hex'),
  };
}

/**
 * Records the tester's choice for a request number (the first one counts) and returns where the
 * browser goes next: the return URL, carrying only the verification id and the request number.
 */
export async function submitSandbox(
  deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>,
  requestNo: string,
  s: SandboxSubmission,
): Promise<string> {
  const v = await sandboxRequest(deps, requestNo);
  if (!SANDBOX_OUTCOMES.includes(s.outcome as SandboxOutcome)) throw fieldError('outcome', SANDBOX_OUTCOMES.join(', '));
  let sealed: string | null = null;
  if (s.outcome === 'success') {
    const chosen = SANDBOX_PEOPLE.find((p) => p.key === s.person);
    if (!chosen && s.person !== 'new') throw fieldError('person', 'one of the test people, or new');
    let person: VerifiedIdentity;
    if (chosen) {
      const { key: _key, ...base } = chosen;
      person = { ...base, ci: sandboxCi(base), di: sandboxDi(v.tenant_id, base) };
    } else {
      person = newPerson(s);
    }
    // i-PIN proves the person, not a phone line.
    sealed = piiFor(deps.masterKey).seal(v.method === 'ipin' ? { ...person, carrier: null, phone: null } : person);
  }
  if (!(await repo.recordSandboxResult(deps.db, requestNo, s.outcome!, sealed))) {
    throw new AppError('VERIFICATION_NOT_PENDING', 'This verification request was already used or has expired.', { requestNo });
  }
  const back = new URL(v.return_url);
  back.searchParams.set('verificationId', v.id);
  back.searchParams.set('requestNo', requestNo);
  return back.toString();
}
