-- Data keys for personal data, added by `moa keys rotate`: random, stored wrapped by the master key.
-- The first key of each domain (k1) is derived from the master key and is not stored.
create table pii_key (
  domain text not null check (domain in ('pii', 'dormant')),
  id text not null check (id ~ '^k[0-9]+$'),
  wrapped text not null,
  created_at timestamptz not null default now(),
  primary key (domain, id)
);

-- The key each domain seals with (k1 when there is no row).
create table pii_key_current (
  domain text primary key check (domain in ('pii', 'dormant')),
  id text not null,
  foreign key (domain, id) references pii_key (domain, id)
);
