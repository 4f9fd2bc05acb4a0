-- Identity verification (본인확인): one row per attempt, whatever its outcome. The verified identity
-- is stored sealed (AES-256-GCM, see src/platform/pii.ts); the CI only as a tenant-scoped keyed hash
-- besides that.
create table identity_verification (
  tenant_id text not null references tenant (id),
  id text not null,
  -- our single-use nonce, handed to the provider; results are fetched by it server to server
  request_no text not null unique,
  provider text not null,
  purpose text not null check (purpose in ('signup', 'find_id', 'reset_password', 'change_phone', 'age_check', 'promotion_entry')),
  method text not null check (method in ('phone', 'ipin')),
  -- live: one VERIFICATION unit held at start, used on success; preview: a console try-out with
  -- test identities, free and counted apart
  mode text not null check (mode in ('live', 'preview')),
  return_url text not null,
  min_age int not null check (min_age between 0 and 100),
  status text not null default 'pending' check (status in ('pending', 'verified', 'failed')),
  -- why it failed: a stable code (PHONE_NOT_OWN_NAME, UNDER_AGE, VERIFICATION_TIMED_OUT, …)
  reason text,
  identity_sealed text,
  ci_hash text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  completed_at timestamptz,
  primary key (tenant_id, id),
  check ((status = 'failed') = (reason is not null)),
  check ((status = 'verified') = (identity_sealed is not null))
);
-- The expiry job's lookup.
create index identity_verification_open on identity_verification (expires_at) where status = 'pending';
-- Attempts by purpose and time, for the console and statistics.
create index identity_verification_recent on identity_verification (tenant_id, created_at desc);

-- The sandbox provider's own records (a real provider keeps these on its side): what the tester
-- chose on the sandbox page for a request number.
create table identity_sandbox_result (
  request_no text primary key,
  outcome text not null,
  identity_sealed text,
  decided_at timestamptz not null default now()
);
