-- SNS login (Naver, Kakao, PAYCO) through OAuth. A link ties one provider account to one member;
-- links are made only by a signed-in member who re-entered the password, never by a matching e-mail.
create table member_social_link (
  tenant_id text not null,
  provider text not null check (provider in ('naver', 'kakao', 'payco')),
  provider_user_id text not null,
  member_id text not null,
  linked_at timestamptz not null default now(),
  last_login_at timestamptz,
  primary key (tenant_id, provider, provider_user_id),
  unique (tenant_id, member_id, provider),
  foreign key (tenant_id, member_id) references member (tenant_id, id)
);

-- One OAuth round trip: the state we hand out, what it is for, and when it was used (once).
create table member_social_state (
  tenant_id text not null,
  state text not null,
  provider text not null,
  intent text not null check (intent in ('login', 'link')),
  member_id text,
  redirect_uri text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  primary key (tenant_id, state),
  check ((intent = 'link') = (member_id is not null))
);

-- The sandbox OAuth provider's side: authorization codes and the test account each stands for.
create table social_sandbox_code (
  code text primary key,
  provider text not null,
  account_sealed text not null,
  created_at timestamptz not null default now(),
  used_at timestamptz
);
