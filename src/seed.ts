import type { Deps } from './platform/deps.ts';
import { grantVerificationUnits } from './modules/identity/index.ts';
import { openAccount, post, reverse, systemAccount } from './modules/ledger/index.ts';
import { createApiKey, createTenant, findTenantByBrn, type TTenant } from './modules/tenants/index.ts';

// The demo brand that a first `npm start` shows. Each module adds its part here so the demo always
// exercises every feature. Running it again changes nothing.

export const DEMO_TENANT = { name: 'Moa Cafe', businessRegistrationNumber: '3148701234' } as const;

/** Identity verification units the demo tenant starts with. */
export const DEMO_VERIFICATION_UNITS = 100;

export type DemoSeed = { tenant: TTenant; created: boolean; apiKey?: string; sampleAccountId?: string };

export async function seedDemo(deps: Pick<Deps, 'db' | 'config'>): Promise<DemoSeed> {
  const existing = await findTenantByBrn(deps, DEMO_TENANT.businessRegistrationNumber);
  if (existing) return { tenant: existing, created: false };

  const tenant = await createTenant(deps, { ...DEMO_TENANT, locale: 'ko-KR' });
  const key = await createApiKey(deps, tenant.id, { name: 'Demo server key', scope: 'server' });
  const sampleAccountId = await seedLedger(deps, tenant.id);
  await grantVerificationUnits(deps, tenant.id, { id: 'demo-verification-grant', units: DEMO_VERIFICATION_UNITS, memo: 'Demo: a starter pack' });
  return { tenant, created: true, apiKey: key.key, sampleAccountId };
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
