-- The personal-data access log (issue 16 §6; 개인정보의 안전성 확보조치 기준 Art. 8, ISMS-P 2.9.4):
-- who (operator, IP) did what (view, unmask, change, export, download, delete) to whose data
-- (member ids, or a count and the query of an export), which fields, why, and when.
--
-- Append-only and tamper-evident (src/modules/audit/README.md):
--   * seq is gap-free per tenant, and hash = sha256(prev_hash || canonical row): editing, deleting
--     or reordering a row breaks the chain, and `moa audit verify` names the first broken seq.
--   * The application roles can only read the log. Rows are appended by moa_access_log_append and
--     purged (older than 2 years, never younger) by moa_access_log_purge: SECURITY DEFINER
--     functions owned by the migration role. moa_app and moa_system cannot INSERT, UPDATE, DELETE
--     or TRUNCATE the tables (access_log, its member index access_log_member, access_log_chain).
--   * access_log_chain holds each tenant's head (the last seq, its hash and time: the row every
--     append locks, so appends of one tenant take turns) and the retention anchor (the last purged
--     seq and its hash, from which the kept rows chain on).

create table access_log (
  tenant_id text not null references tenant (id),
  seq bigint not null check (seq > 0),
  -- The database's clock at the append, never earlier than the tenant's previous row: seq order
  -- is time order (search by period and retention rely on it).
  at timestamptz not null,
  operator_id text not null check (operator_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  ip inet not null,
  action text not null check (action in ('view', 'unmask', 'change', 'export', 'download', 'delete')),
  member_ids text[] not null check (cardinality(member_ids) <= 1000),
  -- How many people's data: the member ids' count, or an export's row count.
  subject_count integer not null check (subject_count >= cardinality(member_ids)),
  -- The selection of an export or download (filters, not personal data).
  query jsonb,
  fields text[] not null check (cardinality(fields) between 1 and 50),
  reason text check (char_length(reason) <= 500),
  request_id text check (char_length(request_id) <= 100),
  prev_hash bytea not null check (length(prev_hash) = 32),
  hash bytea not null check (length(hash) = 32),
  primary key (tenant_id, seq),
  -- Unmasking, exports and downloads say why, in at least 5 characters (the service checks first).
  constraint access_log_reason check (
    action not in ('unmask', 'export', 'download') or coalesce(char_length(btrim(reason, E' \t\r\n')), 0) >= 5
  ),
  -- Every row names its data subjects: member ids, or the query that selected them.
  constraint access_log_subjects check (cardinality(member_ids) > 0 or query is not null),
  constraint access_log_export check (action <> 'export' or query is not null)
);
-- Search: by operator, by action, by period (at → seq bounds); newest first by seq.
create index access_log_operator on access_log (tenant_id, operator_id, seq);
create index access_log_action on access_log (tenant_id, action, seq);
create index access_log_at on access_log (tenant_id, at, seq);

-- Search by member: each row's member ids, keyed for a walk newest first (a GIN index on member_ids
-- gives no order, and the planner then prefers scanning the whole log backwards for a rare member).
-- Derived from access_log.member_ids (which the chain covers), written and purged with its row.
create table access_log_member (
  tenant_id text not null,
  member_id text not null,
  seq bigint not null,
  primary key (tenant_id, member_id, seq)
);

create table access_log_chain (
  tenant_id text primary key references tenant (id),
  last_seq bigint not null default 0,
  last_hash bytea not null default decode(repeat('00', 32), 'hex'),
  last_at timestamptz not null default '-infinity',
  -- The retention anchor: rows up to purged_seq were removed; the first kept row's prev_hash is purged_hash.
  purged_seq bigint not null default 0,
  purged_hash bytea not null default decode(repeat('00', 32), 'hex'),
  purged_at timestamptz,
  check (purged_seq <= last_seq)
);

select moa_enable_tenant_rls('access_log');
select moa_enable_tenant_rls('access_log_member');
select moa_enable_tenant_rls('access_log_chain');

-- Read-only for the application roles (0026 granted select, insert, update, delete by default).
revoke all on access_log, access_log_member, access_log_chain from public, moa_app, moa_system;
grant select on access_log, access_log_member, access_log_chain to moa_app, moa_system;

-- The functions below run as their owner, this migration's role. FORCE ROW LEVEL SECURITY applies to
-- the owner too: unless it is a superuser (or a member of moa_system) it would see and write no row.
-- These policies let the owner, and so the functions, reach every tenant's rows; the functions
-- check the tenant themselves.
do $$
begin
  execute format('create policy owner_writes on access_log to %I using (true) with check (true)', current_user);
  execute format('create policy owner_writes on access_log_member to %I using (true) with check (true)', current_user);
  execute format('create policy owner_writes on access_log_chain to %I using (true) with check (true)', current_user);
end $$;

-- The canonical text of a row, hashed after its predecessor's hash. A JSON array in a fixed order,
-- the instant as microseconds since the epoch and the address without a netmask, so the text does
-- not depend on the session's time zone or output settings.
create function moa_access_log_canonical(
  tenant_id text, seq bigint, at timestamptz, operator_id text, ip inet, action text, member_ids text[],
  subject_count integer, query jsonb, fields text[], reason text, request_id text
) returns text language sql stable parallel safe as $$
  select jsonb_build_array(tenant_id, seq, (extract(epoch from at) * 1000000)::bigint, operator_id, host(ip), action,
    member_ids, subject_count, query, fields, reason, request_id)::text
$$;

-- A row's hash: sha256(prev_hash || canonical text).
create function moa_access_log_hash(prev_hash bytea, canonical text) returns bytea language sql immutable parallel safe as $$
  select sha256(prev_hash || convert_to(canonical, 'UTF8'))
$$;

-- Appends one row at p_at (at least the tenant's last time). Owner only: the application appends
-- through moa_access_log_append, at the database's clock; tests and benchmarks write history here.
create function moa_access_log_write(
  p_at timestamptz, p_tenant text, p_operator text, p_ip inet, p_action text, p_member_ids text[],
  p_subject_count integer, p_query jsonb, p_fields text[], p_reason text, p_request_id text
) returns table (seq bigint, at timestamptz, hash bytea)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c access_log_chain;
  v_seq bigint;
  v_at timestamptz;
  v_hash bytea;
begin
  if coalesce(p_tenant, '') = '' then
    raise exception 'access log: no tenant' using errcode = '22023';
  end if;
  -- The function runs as its owner; the caller's role is still in the role setting. A request
  -- (moa_app) writes only under its own tenant, as row-level security would let it.
  if current_setting('role') not in ('moa_system', 'none')
     and p_tenant is distinct from nullif(current_setting('moa.tenant_id', true), '') then
    raise exception 'access log: tenant % is not the current tenant', p_tenant using errcode = '42501';
  end if;
  -- The head row serialises the tenant's appends until the caller's transaction ends.
  select * into c from access_log_chain ch where ch.tenant_id = p_tenant for update;
  if not found then
    insert into access_log_chain as ch (tenant_id) values (p_tenant) on conflict do nothing;
    select * into c from access_log_chain ch where ch.tenant_id = p_tenant for update;
  end if;
  v_seq := c.last_seq + 1;
  v_at := greatest(p_at, c.last_at);
  v_hash := moa_access_log_hash(c.last_hash, moa_access_log_canonical(p_tenant, v_seq, v_at, p_operator, p_ip, p_action,
    p_member_ids, p_subject_count, p_query, p_fields, p_reason, p_request_id));
  insert into access_log (tenant_id, seq, at, operator_id, ip, action, member_ids, subject_count, query, fields, reason,
    request_id, prev_hash, hash)
  values (p_tenant, v_seq, v_at, p_operator, p_ip, p_action, p_member_ids, p_subject_count, p_query, p_fields, p_reason,
    p_request_id, c.last_hash, v_hash);
  insert into access_log_member (tenant_id, member_id, seq)
  select distinct p_tenant, m, v_seq from unnest(p_member_ids) m;
  update access_log_chain ch set last_seq = v_seq, last_hash = v_hash, last_at = v_at where ch.tenant_id = p_tenant;
  return query select v_seq, v_at, v_hash;
end $$;
revoke execute on function moa_access_log_write(timestamptz, text, text, inet, text, text[], integer, jsonb, text[], text, text)
  from public, moa_app, moa_system;

-- What the application calls (recordAccess): one round trip, inside the caller's transaction.
create function moa_access_log_append(
  p_tenant text, p_operator text, p_ip inet, p_action text, p_member_ids text[], p_subject_count integer,
  p_query jsonb, p_fields text[], p_reason text, p_request_id text
) returns table (seq bigint, at timestamptz, hash bytea)
language sql security definer set search_path = pg_catalog, public, pg_temp as $$
  select * from moa_access_log_write(clock_timestamp(), p_tenant, p_operator, p_ip, p_action, p_member_ids,
    p_subject_count, p_query, p_fields, p_reason, p_request_id)
$$;
revoke execute on function moa_access_log_append(text, text, inet, text, text[], integer, jsonb, text[], text, text) from public;
grant execute on function moa_access_log_append(text, text, inet, text, text[], integer, jsonb, text[], text, text)
  to moa_app, moa_system;

-- The retention job's purge of one tenant: at most p_limit of the oldest rows, all older than
-- p_keep and never younger than 2 years (by the database's clock). The purged rows are verified
-- first (a broken chain is evidence, kept: the purge fails); the anchor then records the last
-- purged seq and its hash so the kept rows still verify. Returns how many rows were removed.
create function moa_access_log_purge(p_tenant text, p_keep interval, p_limit integer)
returns bigint
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c access_log_chain;
  v_cutoff timestamptz := now() - greatest(p_keep, interval '2 years');
  v_upto bigint;
  v_last record;
  v_broken bigint;
  v_n bigint;
begin
  select * into c from access_log_chain ch where ch.tenant_id = p_tenant for update;
  if not found then
    return 0;
  end if;
  -- seq order is time order: the rows to purge are a prefix of the kept ones.
  select max(l.seq) into v_upto from (
    select l.seq from access_log l
    where l.tenant_id = p_tenant and l.seq > c.purged_seq and l.at < v_cutoff
    order by l.seq limit greatest(p_limit, 1)
  ) l;
  if v_upto is null then
    return 0;
  end if;
  select min(v.seq) into v_broken from (
    select l.seq, l.hash, l.prev_hash,
      moa_access_log_hash(l.prev_hash, moa_access_log_canonical(l.tenant_id, l.seq, l.at, l.operator_id, l.ip, l.action,
        l.member_ids, l.subject_count, l.query, l.fields, l.reason, l.request_id)) as computed,
      lag(l.seq, 1, c.purged_seq) over (order by l.seq) as before_seq,
      lag(l.hash, 1, c.purged_hash) over (order by l.seq) as before_hash
    from access_log l
    where l.tenant_id = p_tenant and l.seq > c.purged_seq and l.seq <= v_upto
  ) v
  where v.seq <> v.before_seq + 1 or v.prev_hash <> v.before_hash or v.computed <> v.hash;
  if v_broken is not null then
    raise exception 'access log of tenant % is broken at seq %: nothing purged (run moa audit verify)', p_tenant, v_broken
      using errcode = 'P0001';
  end if;
  select l.seq, l.hash, l.at into v_last from access_log l where l.tenant_id = p_tenant and l.seq = v_upto;
  delete from access_log_member m using (
    select unnest(l.member_ids) as member_id, l.seq from access_log l
    where l.tenant_id = p_tenant and l.seq > c.purged_seq and l.seq <= v_upto
  ) x
  where m.tenant_id = p_tenant and m.member_id = x.member_id and m.seq = x.seq;
  delete from access_log l where l.tenant_id = p_tenant and l.seq > c.purged_seq and l.seq <= v_upto;
  get diagnostics v_n = row_count;
  update access_log_chain ch set purged_seq = v_last.seq, purged_hash = v_last.hash, purged_at = v_last.at
  where ch.tenant_id = p_tenant;
  return v_n;
end $$;
revoke execute on function moa_access_log_purge(text, interval, integer) from public, moa_app;
grant execute on function moa_access_log_purge(text, interval, integer) to moa_system;
