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

export type PrepaidCardRow = Selectable<PrepaidCardTable>;
export type PrepaidOperationRow = Selectable<PrepaidOperationTable>;

export type PrepaidTables = { prepaid_program: PrepaidProgramTable; prepaid_card: PrepaidCardTable; prepaid_operation: PrepaidOperationTable };
