-- Members manage themselves (issue 17 §3, src/modules/members/README.md "Self-service"): e-mail
-- changes confirmed through a single-use link, and the append-only history of consents.

-- A new e-mail becomes the member's only when the link mailed to it is opened. Only a keyed hash
-- of the link's token is kept; the new address is sealed. A newer request replaces an open one.
create table member_email_change (
  tenant_id text not null references tenant (id),
  token_hash text not null,
  member_id text not null,
  email_sealed text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz,
  primary key (tenant_id, token_hash),
  foreign key (tenant_id, member_id) references member (tenant_id, id)
);
create index member_email_change_open on member_email_change (tenant_id, member_id) where used_at is null and revoked_at is null;

-- Every change of a consent, one row each, never updated or deleted (the application roles may
-- only insert and read). member.consents keeps the current state for reads.
create table member_consent (
  tenant_id text not null references tenant (id),
  member_id text not null,
  seq bigint generated always as identity,
  consent text not null check (consent in ('terms', 'privacy', 'age14', 'marketing_sms', 'marketing_messenger',
    'marketing_push', 'marketing_email', 'night')),
  granted boolean not null,
  at timestamptz not null,
  channel text not null check (channel in ('app', 'web', 'pos', 'operator', 'import')),
  operator_id text,
  reason text,
  primary key (tenant_id, member_id, seq),
  foreign key (tenant_id, member_id) references member (tenant_id, id),
  -- An operator acting for a member is named and says why.
  check (channel <> 'operator' or (operator_id is not null and char_length(btrim(reason)) >= 5))
);

-- Where the confirmation link of an e-mail change points: the brand's own page, set by its server
-- (never by the member's request, so Moa cannot be made to mail arbitrary links).
alter table member_policy add column email_confirm_url text;

select moa_enable_tenant_rls(t) from unnest(array['member_email_change', 'member_consent']::regclass[]) as t;
revoke all on member_consent from moa_app, moa_system;
grant select, insert on member_consent to moa_app, moa_system;
