import type { Generated, Selectable } from 'kysely';

export type CheckoutTable = {
  tenant_id: string;
  id: string;
  member_id: string;
  store_id: string | null;
  request_hash: string;
  status: 'committed' | 'partially_cancelled' | 'cancelled';
  order_amount: number;
  discount: number;
  points_used: number;
  prepaid_used: number;
  paid_amount: number;
  result: unknown;
  request: unknown;
  cancelled: unknown;
  occurred_at: Date | null;
  created_at: Generated<Date>;
  cancelled_at: Date | null;
};

export type CheckoutCancelTable = {
  tenant_id: string;
  id: string;
  checkout_id: string;
  request_hash: string;
  detail: unknown;
  created_at: Generated<Date>;
};

export type CheckoutRow = Selectable<CheckoutTable>;
export type CheckoutTables = { checkout: CheckoutTable; checkout_cancel: CheckoutCancelTable };
