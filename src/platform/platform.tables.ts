import type { ColumnType, Generated } from 'kysely';

export type IdempotencyKeyTable = {
  tenant_id: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: string;
  created_at: Generated<Date>;
  expires_at: Date;
};

export type OutboxTable = {
  tenant_id: string;
  id: Generated<number>;
  topic: string;
  payload: ColumnType<unknown, string, string>;
  status: Generated<'pending' | 'delivered' | 'dead'>;
  attempts: Generated<number>;
  available_at: Generated<Date>;
  handlers_done: Generated<string[]>;
  last_error: string | null;
  created_at: Generated<Date>;
  delivered_at: Date | null;
};

export type PiiKeyTable = { domain: 'pii' | 'dormant'; id: string; wrapped: string; created_at: Generated<Date> };
export type PiiKeyCurrentTable = { domain: 'pii' | 'dormant'; id: string };

export type SecretAttemptTable = {
  tenant_id: string;
  kind: string;
  subject: string;
  claimed: number;
  locked_until: Date | null;
  updated_at: Date;
};
export type RateLimitWindowTable = { tenant_id: string; key: string; window_start: Date; n: number; expires_at: Date };

export type PlatformTables = {
  idempotency_key: IdempotencyKeyTable;
  outbox: OutboxTable;
  pii_key: PiiKeyTable;
  pii_key_current: PiiKeyCurrentTable;
  secret_attempt: SecretAttemptTable;
  rate_limit_window: RateLimitWindowTable;
};
