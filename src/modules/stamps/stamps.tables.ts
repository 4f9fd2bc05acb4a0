import type { Generated, Selectable } from 'kysely';

export type StampCardTable = {
  tenant_id: string;
  id: string;
  name: string;
  type: 'payment' | 'event';
  status: Generated<'active' | 'paused'>;
  issue_from: Date;
  issue_until: Date;
  stamps_per_board: number;
  max_boards: number | null;
  stamp_validity_days: number | null;
  reward: unknown;
  policy: unknown;
  created_at: Generated<Date>;
};
export type StampMemberCardTable = { tenant_id: string; card_id: string; member_id: string; boards_completed: Generated<number> };
export type StampEarningTable = {
  tenant_id: string;
  id: string;
  card_id: string;
  member_id: string;
  count: number;
  day: string;
  source: 'order' | 'event' | 'otp';
  order_id: string | null;
  store_id: string | null;
  manager_id: string | null;
  cancelled: Generated<boolean>;
  taken_back: Generated<number>;
  created_at: Generated<Date>;
};
export type StampBoardTable = {
  tenant_id: string;
  card_id: string;
  member_id: string;
  board_no: number;
  reward: unknown;
  completed_at: Generated<Date>;
};
export type StampOtpTable = {
  tenant_id: string;
  id: string;
  code_hash: string;
  member_id: string;
  card_id: string;
  expires_at: Date;
  used_at: Date | null;
  earning_id: string | null;
  manager_id: string | null;
  store_id: string | null;
  requested: number | null;
  wrong_seen: Generated<number>;
  created_at: Generated<Date>;
};
export type StampOtpFailureTable = { tenant_id: string; manager_id: string; store_id: string; at: Generated<Date> };

export type StampCardRow = Selectable<StampCardTable>;

export type StampsTables = {
  stamp_card: StampCardTable;
  stamp_member_card: StampMemberCardTable;
  stamp_earning: StampEarningTable;
  stamp_board: StampBoardTable;
  stamp_otp: StampOtpTable;
  stamp_otp_failure: StampOtpFailureTable;
};
