import type { Generated, Selectable } from 'kysely';

export type CouponDefinitionStatus = 'active' | 'paused' | 'ended';
export type CouponStatus = 'active' | 'used' | 'revoked';
export type CouponSource =
  | 'download'
  | 'operator'
  | 'bulk'
  | 'pin'
  | 'signup'
  | 'grade_up'
  | 'birthday'
  | 'first_order'
  | 'promotion'
  | 'stamps';

export type CouponDefinitionTable = {
  tenant_id: string;
  id: string;
  name: string;
  status: Generated<CouponDefinitionStatus>;
  rules: unknown;
  downloadable: Generated<boolean>;
  auto_issue: 'signup' | 'grade_up' | 'birthday' | 'first_order' | null;
  auto_issue_grade: string | null;
  auto_issue_days_before: Generated<number>;
  total_quantity: number | null;
  issued: Generated<number>;
  per_member_limit: Generated<number>;
  issue_from: Date | null;
  issue_until: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

export type CouponTable = {
  tenant_id: string;
  id: string;
  definition_id: string;
  member_id: string;
  status: Generated<CouponStatus>;
  valid_from: Date;
  valid_until: Date;
  source: CouponSource;
  source_ref: string | null;
  use_id: string | null;
  used_at: Date | null;
  hold_id: Generated<string | null>;
  held_until: Generated<Date | null>;
  issued_at: Generated<Date>;
  /** The coupons.expired event was written (coupon-expiry.service.ts). */
  expiry_reported: Generated<boolean>;
};

export type CouponMemberTable = {
  tenant_id: string;
  definition_id: string;
  member_id: string;
  issued: Generated<number>;
  used: Generated<number>;
};

export type CouponUseTable = {
  tenant_id: string;
  id: string;
  coupon_id: string;
  definition_id: string;
  member_id: string;
  order_id: string;
  channel: string;
  store_id: string | null;
  discount: number;
  hq_share: number;
  cancelled_at: Date | null;
  created_at: Generated<Date>;
};

export type CouponGiftTable = {
  tenant_id: string;
  id: string;
  coupon_id: string;
  from_member_id: string;
  to_member_id: string;
  created_at: Generated<Date>;
};

export type CouponPinTable = {
  tenant_id: string;
  pin_hash: string;
  definition_id: string;
  batch_id: string;
  coupon_id: string | null;
  registered_at: Date | null;
};

export type CouponBulkIssueTable = {
  tenant_id: string;
  id: string;
  definition_id: string;
  status: Generated<'running' | 'done'>;
  rows_done: Generated<number>;
  issued: Generated<number>;
  rejected: Generated<unknown>;
  started_at: Generated<Date>;
  finished_at: Date | null;
};

export type CouponDefinitionRow = Selectable<CouponDefinitionTable>;
export type CouponRow = Selectable<CouponTable>;

export type CouponsTables = {
  coupon_definition: CouponDefinitionTable;
  coupon: CouponTable;
  coupon_member: CouponMemberTable;
  coupon_use: CouponUseTable;
  coupon_gift: CouponGiftTable;
  coupon_pin: CouponPinTable;
  coupon_bulk_issue: CouponBulkIssueTable;
};
