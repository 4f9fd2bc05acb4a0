import type { Generated, Selectable } from 'kysely';

export type WebhookEndpointTable = {
  tenant_id: string;
  id: string;
  url: string;
  description: Generated<string>;
  /** null: every public event type. */
  event_types: string[] | null;
  status: Generated<'enabled' | 'disabled'>;
  disabled_reason: string | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_until: Date | null;
  failing_since: Date | null;
  consecutive_failures: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

export type WebhookMessageTable = {
  tenant_id: string;
  endpoint_id: string;
  event_seq: number;
  type: string;
  version: number;
  data: unknown;
  order_key: string;
  occurred_at: Date;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Generated<Date>;
};

export type WebhookAttemptTable = {
  tenant_id: string;
  id: Generated<number>;
  endpoint_id: string;
  event_seq: number;
  attempt: number;
  attempted_at: Date;
  response_status: number | null;
  error: string | null;
  latency_ms: number;
  response_excerpt: Generated<string>;
};

export type WebhookEndpointRow = Selectable<WebhookEndpointTable>;
export type WebhookMessageRow = Selectable<WebhookMessageTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptTable>;

export type WebhooksTables = {
  webhook_endpoint: WebhookEndpointTable;
  webhook_message: WebhookMessageTable;
  webhook_attempt: WebhookAttemptTable;
};
