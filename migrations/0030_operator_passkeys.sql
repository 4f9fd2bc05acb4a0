-- Passkeys (WebAuthn) of operators: a second factor after the password and for step-up, and, as
-- the authenticator verifies its user (PIN or biometrics), a sign-in of their own
-- (src/modules/operators/README.md). tenant_id is null for platform operators: only moa_system
-- sees those rows, as with every operator table.

create table operator_passkey (
  id text primary key,
  tenant_id text references tenant (id),
  operator_id text not null references operator (id),
  -- The credential id (base64url) the authenticator chose: unique across the platform, so a
  -- passkey sign-in, which names no e-mail, finds its account.
  credential_id text not null unique,
  -- The COSE public key the signatures are checked with.
  public_key bytea not null,
  -- The relying party (the console's host) the credential is bound to.
  rp_id text not null,
  -- The signature counter last accepted: an assertion must bring a higher one (WebAuthn §7.2
  -- step 21, a cloned authenticator), or 0 again from an authenticator that keeps no counter.
  sign_count bigint not null default 0 check (sign_count >= 0),
  transports text[] not null default '{}',
  aaguid text not null,
  -- multiDevice: a synced passkey (its backed_up flag says whether it is synced now).
  device_type text not null check (device_type in ('singleDevice', 'multiDevice')),
  backed_up boolean not null,
  name text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
create index operator_passkey_operator on operator_passkey (operator_id);

-- WebAuthn challenges, one live per binding: the SHA-256 of an operator session id (registration,
-- second factor, step-up) or of the short cookie of a passkey sign-in. Taken once (delete …
-- returning), valid 5 minutes; a new one replaces the old.
create table operator_webauthn_challenge (
  binding_hash bytea primary key,
  tenant_id text references tenant (id),
  -- null for a passkey sign-in: the account is known from the credential only.
  operator_id text references operator (id),
  purpose text not null check (purpose in ('register', 'authenticate', 'sign_in')),
  challenge text not null,
  rp_id text not null,
  origin text not null,
  expires_at timestamptz not null
);
create index operator_webauthn_challenge_expires on operator_webauthn_challenge (expires_at);

select moa_enable_tenant_rls(t)
from unnest(array['operator_passkey', 'operator_webauthn_challenge']::regclass[]) as t;
