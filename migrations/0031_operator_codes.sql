-- Operators' one-time codes by SMS or AlimTalk, emergency e-mail recovery links, and what the
-- message and mail sandboxes recorded (src/modules/operators/README.md, src/modules/messages/README.md).
-- tenant_id is null for platform operators and the platform's own messages: only moa_system sees those rows.

-- The sandboxes: what would have been sent, sealed, found by the recipient's keyed hash.
create table sandbox_message (
  id text primary key,
  seq bigint generated always as identity,
  tenant_id text references tenant (id),
  channel text not null,
  recipient_hash text not null,
  message_sealed text not null,
  created_at timestamptz not null default now()
);
create index sandbox_message_recipient on sandbox_message (recipient_hash, seq);

create table sandbox_mail (
  id text primary key,
  seq bigint generated always as identity,
  tenant_id text references tenant (id),
  recipient_hash text not null,
  mail_sealed text not null,
  created_at timestamptz not null default now()
);
create index sandbox_mail_recipient on sandbox_mail (recipient_hash, seq);

select moa_enable_tenant_rls(t)
from unnest(array['sandbox_message', 'sandbox_mail']::regclass[]) as t;
