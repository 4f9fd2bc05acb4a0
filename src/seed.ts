import { fixedClock } from './platform/clock.ts';
import type { Deps } from './platform/deps.ts';
import { completeVerification, grantVerificationUnits, startVerification, submitSandbox } from './modules/identity/index.ts';
import { purgeWithdrawn, runDormancy, signUp, withdraw, type TMember } from './modules/members/index.ts';
import { openAccount, post, reverse, systemAccount } from './modules/ledger/index.ts';
import { createApiKey, createTenant, findTenantByBrn, type TTenant } from './modules/tenants/index.ts';

// The demo brand that a first `npm start` shows. Each module adds its part here so the demo always
// exercises every feature. Running it again changes nothing.

export const DEMO_TENANT = { name: 'Moa Cafe', businessRegistrationNumber: '3148701234' } as const;

/** Identity verification units the demo tenant starts with. */
export const DEMO_VERIFICATION_UNITS = 100;

export type DemoSeed = { tenant: TTenant; created: boolean; apiKey?: string; sampleAccountId?: string; members?: Record<string, string> };

export type SeedDeps = Pick<Deps, 'db' | 'config' | 'clock' | 'masterKey' | 'log'>;

export async function seedDemo(deps: SeedDeps): Promise<DemoSeed> {
  const existing = await findTenantByBrn(deps, DEMO_TENANT.businessRegistrationNumber);
  if (existing) return { tenant: existing, created: false };

  const tenant = await createTenant(deps, { ...DEMO_TENANT, locale: 'ko-KR' });
  const key = await createApiKey(deps, tenant.id, { name: 'Demo server key', scope: 'server' });
  const sampleAccountId = await seedLedger(deps, tenant.id);
  await grantVerificationUnits(deps, tenant.id, { id: 'demo-verification-grant', units: DEMO_VERIFICATION_UNITS, memo: 'Demo: a starter pack' });
  const members = await seedMembers(deps, tenant.id);
  return { tenant, created: true, apiKey: key.key, sampleAccountId, members };
}

/** The demo password of every demo member. */
export const DEMO_MEMBER_PASSWORD = 'moa-demo-1234';

/**
 * Demo members in every state, each signed up through the sandbox verification (one unit each):
 * active (hong.gd, kim.mj), withdrawn and purged, withdrawn and blocked from re-sign-up (smith.j),
 * and dormant (park.sy). The jobs run for this tenant only, "as of" a later day.
 */
async function seedMembers(deps: SeedDeps, tenantId: string): Promise<Record<string, string>> {
  const join = async (loginId: string, person: string): Promise<TMember> => {
    const v = await startVerification(deps, tenantId, { purpose: 'signup', method: 'phone', returnUrl: 'https://demo.moa.local/joined', minAge: 14, preview: false });
    await submitSandbox(deps, v.requestNo, { outcome: 'success', person });
    await completeVerification(deps, tenantId, v.id);
    return signUp(deps, tenantId, {
      loginId,
      password: DEMO_MEMBER_PASSWORD,
      verificationId: v.id,
      consents: { terms: true, privacy: true, age14: true, marketing: { sms: true, email: loginId === 'hong.gd', push: false } },
    });
  };
  const later = (days: number) => ({ ...deps, clock: fixedClock(new Date(deps.clock.now().getTime() + days * 86_400_000)) });

  const purged = await join('gone.user', 'choi');
  await withdraw(deps, tenantId, purged.id, 'Demo: left long ago');
  await purgeWithdrawn(later(31), { tenantId });
  const dormant = await join('park.sy', 'park');
  await runDormancy(later(400), { tenantId });
  const withdrawn = await join('smith.j', 'smith');
  await withdraw(deps, tenantId, withdrawn.id, 'Demo: moving abroad');
  const hong = await join('hong.gd', 'hong');
  const kim = await join('kim.mj', 'kim');
  return { active: hong.id, active2: kim.id, dormant: dormant.id, withdrawn: withdrawn.id, purged: purged.id };
}

/** A sample points wallet with a short history: earned in lots, spent, and a spend partly cancelled. */
async function seedLedger(deps: Pick<Deps, 'db'>, tenantId: string): Promise<string> {
  const issuance = await systemAccount(deps, tenantId, 'POINT', 'issuance');
  const revenue = await systemAccount(deps, tenantId, 'POINT', 'revenue');
  const wallet = await openAccount(deps, tenantId, {
    ledger: 'POINT',
    ownerType: 'member',
    ownerId: 'demo-member',
    kind: 'wallet',
    debitsMustNotExceedCredits: true,
    hasLots: true,
  });
  const inMonths = (n: number) => new Date(Date.now() + n * 30 * 86_400_000);
  const earn = (id: string, amount: number, months: number, reference: string) =>
    post(deps, {
      tenantId,
      id,
      code: 'EARN',
      reference,
      memo: 'Demo: 1% of the order',
      legs: [{ debit: issuance.id, credit: wallet.id, amount, ledger: 'POINT', expiresAt: inMonths(months) }],
    });
  await earn('demo-earn-1', 1_200, 12, 'order-1001');
  await earn('demo-earn-2', 450, 6, 'order-1002');
  await post(deps, { tenantId, id: 'demo-use-1', code: 'USE', reference: 'order-1003', legs: [{ debit: wallet.id, credit: revenue.id, amount: 800, ledger: 'POINT' }] });
  await reverse(deps, { tenantId, id: 'demo-cancel-1', transactionId: 'demo-use-1', amounts: [300], memo: 'Demo: one item returned' });
  return wallet.id;
}
