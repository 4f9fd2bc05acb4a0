import type { Selectable } from 'kysely';

export const ACCESS_ACTIONS = ['view', 'unmask', 'change', 'export', 'download', 'delete'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

// Rows are written only by the database functions of migrations/0028_access_log.sql: no Insertable
// types, and the application roles cannot insert, update or delete.
export type AccessLogTable = {
  tenant_id: string;
  seq: number;
  at: Date;
  operator_id: string;
  ip: string;
  action: AccessAction;
  member_ids: string[];
  subject_count: number;
  query: Record<string, unknown> | null;
  fields: string[];
  reason: string | null;
  request_id: string | null;
  prev_hash: Buffer;
  hash: Buffer;
};

/** access_log.member_ids, one row each, for the search by member (newest first). */
export type AccessLogMemberTable = { tenant_id: string; member_id: string; seq: number };

export type AccessLogChainTable = {
  tenant_id: string;
  last_seq: number;
  last_hash: Buffer;
  last_at: Date;
  purged_seq: number;
  purged_hash: Buffer;
  purged_at: Date | null;
};

export type AccessLogRow = Selectable<AccessLogTable>;
export type AccessLogChainRow = Selectable<AccessLogChainTable>;

export type AuditTables = {
  access_log: AccessLogTable;
  access_log_member: AccessLogMemberTable;
  access_log_chain: AccessLogChainTable;
};
