-- Operators' one-time codes by SMS or AlimTalk, emergency e-mail recovery links, and what the
-- message and mail sandboxes recorded (src/modules/operators/README.md, src/modules/messages/README.md).
-- tenant_id is null for platform operators and the platform's own messages: only moa_system sees those rows.

-- One live code per operator and purpose; a new one replaces it, no sooner than 60 s after it
-- (one conditional upsert). Only a keyed hash of the code is kept.
create table operator_code (
  operator_id text not null references operator (id),
  -- sign_in: a second factor at sign-in or step-up, to the registered phone;
  -- phone: confirms a new phone, which is set on the operator once the code is right.
  purpose text not null check (purpose in ('sign_in', 'phone')),
  tenant_id text references tenant (id),
  channel text not null check (channel in ('sms', 'alimtalk')),
  phone_sealed text not null,
  code_hash text not null,
  attempts int not null default 0,
  sent_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  primary key (operator_id, purpose)
);

-- Emergency recovery by e-mail when the phone is not at hand: a single-use link, its SHA-256 only.
create table operator_email_recovery (
  token_hash bytea primary key,
  tenant_id text references tenant (id),
  operator_id text not null references operator (id),
  ip text,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz
);
create index operator_email_recovery_open on operator_email_recovery (operator_id) where used_at is null and revoked_at is null;

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
from unnest(array['operator_code', 'operator_email_recovery', 'sandbox_message', 'sandbox_mail']::regclass[]) as t;
