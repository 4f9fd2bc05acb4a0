-- Counted limits on secret checks (issue 15 §3; ARCHITECTURE.md "Counted limits"). Both tables are
-- changed by one conditional statement per attempt, so parallel requests and several processes
-- never get more checks than the limit.

-- Attempts at one secret, claimed before it is checked: a member's or manager's login ID (a keyed
-- hash, the same for IDs that exist and IDs that do not), a physical card's number, a member's
-- card registrations. `claimed` counts attempts since the last success or the last lock; the claim
-- that reaches the limit sets `locked_until` (9999-12-31: until unlocked by the brand).
create table secret_attempt (
  tenant_id text not null references tenant (id),
  kind text not null,
  subject text not null,
  claimed int not null,
  locked_until timestamptz,
  updated_at timestamptz not null,
  primary key (tenant_id, kind, subject)
);
create index secret_attempt_stale on secret_attempt (updated_at);

-- Fixed-window rate counters: per client IP (keyed hash) and per credential, one row per window.
create table rate_limit_window (
  tenant_id text not null references tenant (id),
  key text not null,
  window_start timestamptz not null,
  n int not null,
  expires_at timestamptz not null,
  primary key (tenant_id, key, window_start)
);
create index rate_limit_window_expiry on rate_limit_window (expires_at);
