import type { Deps } from './platform/deps.ts';
import { createApiKey, createTenant, findTenantByBrn, type TTenant } from './modules/tenants/index.ts';

// The demo brand that a first `npm start` shows. Each module adds its part here so the demo always
// exercises every feature. Running it again changes nothing.

export const DEMO_TENANT = { name: 'Moa Cafe', businessRegistrationNumber: '3148701234' } as const;

export type DemoSeed = { tenant: TTenant; created: boolean; apiKey?: string };

export async function seedDemo(deps: Pick<Deps, 'db' | 'config'>): Promise<DemoSeed> {
  const existing = await findTenantByBrn(deps, DEMO_TENANT.businessRegistrationNumber);
  if (existing) return { tenant: existing, created: false };

  const tenant = await createTenant(deps, { ...DEMO_TENANT, locale: 'ko-KR' });
  const key = await createApiKey(deps, tenant.id, { name: 'Demo server key', scope: 'server' });
  return { tenant, created: true, apiKey: key.key };
}
