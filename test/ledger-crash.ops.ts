// The crash test's workload, the same in every run: earns, spends and two-leg transfers whose
// amounts always fit (the members start rich), so every one must end up posted exactly once.
import type { PostTransaction } from '../src/modules/ledger/index.ts';

export type CrashSetup = { tenantId: string; issuance: string; revenue: string; members: string[]; count: number };

export function crashOps(s: CrashSetup): PostTransaction[] {
  return Array.from({ length: s.count }, (_, i) => {
    const m = (k: number) => s.members[(i * 7 + k * 3) % s.members.length]!;
    const amount = 1 + (i % 13);
    const leg = (debit: string, credit: string, a = amount) => ({ debit, credit, amount: a, ledger: 'POINT' });
    switch (i % 3) {
      case 0:
        return { tenantId: s.tenantId, id: `crash-${i}`, code: 'EARN', legs: [leg(s.issuance, m(0))] };
      case 1:
        return { tenantId: s.tenantId, id: `crash-${i}`, code: 'USE', legs: [leg(m(1), s.revenue)] };
      default:
        return { tenantId: s.tenantId, id: `crash-${i}`, code: 'GIFT', legs: [leg(m(2), m(3)), leg(m(3), s.revenue, 1)] };
    }
  });
}
