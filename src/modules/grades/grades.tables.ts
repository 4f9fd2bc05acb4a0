import type { Generated, Selectable } from 'kysely';

export type ReviewCycle = 'daily' | 'monthly' | 'quarterly';

export type GradeLevelTable = {
  tenant_id: string;
  code: string;
  name: string;
  rank: number;
  accrual_bp: number;
  benefit: Generated<string>;
  min_orders: Generated<number>;
  min_amount: Generated<number>;
  window_days: Generated<number>;
  updated_at: Generated<Date>;
};

export type GradePolicyTable = { tenant_id: string; review_cycle: Generated<ReviewCycle>; last_review_at: Date | null };

export type GradeActivityTable = {
  tenant_id: string;
  member_id: string;
  day: string;
  orders: Generated<number>;
  amount: Generated<number>;
};

export type GradeChangeTable = {
  tenant_id: string;
  id: string;
  member_id: string;
  from_grade: string | null;
  to_grade: string;
  source: 'review' | 'manual' | 'signup';
  reason: string;
  actor: string | null;
  changed_at: Generated<Date>;
};

export type GradeLevelRow = Selectable<GradeLevelTable>;

export type GradesTables = {
  grade_level: GradeLevelTable;
  grade_policy: GradePolicyTable;
  grade_activity: GradeActivityTable;
  grade_change: GradeChangeTable;
};
