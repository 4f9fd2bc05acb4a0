import type { Generated, Selectable } from 'kysely';

export type PointOperationKind = 'earn' | 'use' | 'cancel' | 'adjust' | 'import' | 'grant';

export type PointPolicyTable = {
  tenant_id: string;
  version: number;
  effective_from: Date;
  settings: unknown;
  created_at: Generated<Date>;
};

export type PointOperationTable = {
  tenant_id: string;
  id: string;
  member_id: string;
  kind: PointOperationKind;
  amount: number;
  order_id: string | null;
  original_id: string | null;
  channel: string | null;
  store_id: string | null;
  reason: string | null;
  actor: string | null;
  policy_version: number | null;
  created_at: Generated<Date>;
};

export type PointExpiryNoticeTable = { tenant_id: string; account_id: string; first_expiry: Date; sent_at: Generated<Date> };

export type PointOperationRow = Selectable<PointOperationTable>;

export type PointsTables = {
  point_policy: PointPolicyTable;
  point_operation: PointOperationTable;
  point_expiry_notice: PointExpiryNoticeTable;
};
