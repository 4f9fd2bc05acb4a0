import type { Generated, Selectable } from 'kysely';

export type PrepaidCardStatus = 'active' | 'lost' | 'suspended';
export type PrepaidOperationKind = 'charge' | 'charge_cancel' | 'use' | 'use_cancel' | 'gift' | 'transfer' | 'refund';

export type PrepaidProgramTable = { tenant_id: string; settings: unknown; updated_at: Generated<Date> };

export type PrepaidCardTable = {
  tenant_id: string;
  id: string;
  member_id: string | null;
  account_id: string;
  nickname: Generated<string>;
  status: Generated<PrepaidCardStatus>;
  is_main: Generated<boolean>;
  number_hash: string | null;
  number_last4: string | null;
  pin_hash: string | null;
  created_at: Generated<Date>;
};

export type PrepaidOperationTable = {
  tenant_id: string;
  id: string;
  card_id: string;
  member_id: string | null;
  kind: PrepaidOperationKind;
  amount: number;
  to_card_id: string | null;
  order_id: string | null;
  original_id: string | null;
  channel: string | null;
  store_id: string | null;
  payment_method: string | null;
  payment_id: string | null;
  fee: Generated<number>;
  bank_sealed: string | null;
  cancelled: Generated<boolean>;
  created_at: Generated<Date>;
};

/** A charge's payment, written before the provider is asked (migration 0027). */
export type PrepaidChargePaymentTable = {
  tenant_id: string;
  id: string;
  card_id: string;
  amount: number;
  method: string;
  token_kind: 'payment' | 'billing_key' | 'offline';
  payment_ref: string | null;
  channel: string;
  store_id: string | null;
  status: 'pending' | 'approved' | 'declined';
  payment_id: string | null;
  reason: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

export type PrepaidAutoChargeTable = {
  tenant_id: string;
  card_id: string;
  member_id: string;
  kind: 'threshold' | 'monthly';
  threshold: number | null;
  day_of_month: number | null;
  amount: number;
  payment_method: string;
  token_sealed: string;
  token_last4: string;
  enabled: Generated<boolean>;
  failures: Generated<number>;
  charges: Generated<number>;
  due_at: Date | null;
  last_error: string | null;
  disabled_reason: string | null;
  updated_at: Generated<Date>;
};

export type PrepaidAutoChargeAttemptTable = {
  tenant_id: string;
  card_id: string;
  attempted_at: Date;
  charge_id: string;
  amount: number;
  outcome: 'charged' | 'failed' | 'disabled' | 'skipped';
  error_code: string | null;
  error_message: string | null;
};

export type PrepaidPromotionTable = {
  tenant_id: string;
  id: string;
  name: string;
  min_charge: number;
  reward_points: number | null;
  reward_coupon_id: string | null;
  per_member_limit: number;
  channels: string[] | null;
  starts_at: Date;
  ends_at: Date | null;
  status: Generated<'active' | 'ended'>;
  created_at: Generated<Date>;
};

export type PrepaidPromotionMemberTable = { tenant_id: string; promotion_id: string; member_id: string; granted: number };

export type PrepaidPromotionGrantTable = {
  tenant_id: string;
  charge_id: string;
  promotion_id: string;
  member_id: string;
  points: number | null;
  points_operation_id: string | null;
  coupon_id: string | null;
  revoked: Generated<boolean>;
  created_at: Generated<Date>;
};

export type PrepaidCardRow = Selectable<PrepaidCardTable>;
export type PrepaidOperationRow = Selectable<PrepaidOperationTable>;
export type PrepaidAutoChargeRow = Selectable<PrepaidAutoChargeTable>;
export type PrepaidChargePaymentRow = Selectable<PrepaidChargePaymentTable>;
export type PrepaidPromotionRow = Selectable<PrepaidPromotionTable>;

export type PrepaidTables = {
  prepaid_program: PrepaidProgramTable;
  prepaid_card: PrepaidCardTable;
  prepaid_operation: PrepaidOperationTable;
  prepaid_charge_payment: PrepaidChargePaymentTable;
  prepaid_auto_charge: PrepaidAutoChargeTable;
  prepaid_auto_charge_attempt: PrepaidAutoChargeAttemptTable;
  prepaid_promotion: PrepaidPromotionTable;
  prepaid_promotion_member: PrepaidPromotionMemberTable;
  prepaid_promotion_grant: PrepaidPromotionGrantTable;
};
