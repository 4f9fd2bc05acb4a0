import type { Generated } from 'kysely';

// The sandbox recorders' tables: what would have been sent, sealed (it is personal data even in a
// sandbox). tenant_id is null for the platform's own messages.

export type SandboxMessageTable = {
  id: string;
  /** The order messages were recorded in. */
  seq: Generated<number>;
  tenant_id: string | null;
  channel: string;
  recipient_hash: string;
  /** { to, template, text } */
  message_sealed: string;
  created_at: Generated<Date>;
};

export type SandboxMailTable = {
  id: string;
  seq: Generated<number>;
  tenant_id: string | null;
  recipient_hash: string;
  /** { to, from, subject, text } */
  mail_sealed: string;
  created_at: Generated<Date>;
};

export type MessagesTables = {
  sandbox_message: SandboxMessageTable;
  sandbox_mail: SandboxMailTable;
};
