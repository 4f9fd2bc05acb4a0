import type { Generated, Selectable } from 'kysely';

export type CheckoutTable = {
  tenant_id: string;
  id: string;
  member_id: string;
  request_hash: string;
  status: 'committed' | 'cancelled';
  order_amount: number;
  discount: number;
  points_used: number;
  prepaid_used: number;
  paid_amount: number;
  result: unknown;
  occurred_at: Date | null;
  created_at: Generated<Date>;
  cancelled_at: Date | null;
};

export type CheckoutRow = Selectable<CheckoutTable>;
export type CheckoutTables = { checkout: CheckoutTable };
