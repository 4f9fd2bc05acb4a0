-- Tenant isolation enforced by the database: row-level security on every tenant-owned table.
--
-- Three roles (src/platform/README.md, "Roles and row-level security"):
--   the migration role  whoever runs the migrations (DATABASE_MIGRATION_URL, else DATABASE_URL):
--                       owns the tables; under FORCE it sees no rows unless it is a superuser.
--   moa_app             every request: sees only the rows of the tenant in moa.tenant_id, and
--                       nothing when it is unset or empty.
--   moa_system          the machinery that crosses tenants (group-commit batches, the outbox
--                       claim, jobs, platform-operator routes, the CLI): every row, no BYPASSRLS.
-- Neither can log in, is a superuser, owns a table or bypasses RLS; the application's login
-- (DATABASE_URL) is a member of both and switches with SET ROLE per connection checkout.

-- Roles are cluster-wide: another database (a concurrent test run) may be creating them now.
do $$
declare
  r text;
begin
  foreach r in array array['moa_app', 'moa_system'] loop
    if not exists (select from pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin', r);
      exception when duplicate_object or unique_violation then null;
      end;
    end if;
    -- A login that is not a superuser must be a member to SET ROLE (a superuser needs nothing).
    if not pg_has_role(current_user, r, 'member') then
      begin
        execute format('grant %I to %I', r, current_user);
      exception when insufficient_privilege then
        raise notice 'grant % to the application login yourself (see src/platform/README.md)', r;
      end;
    end if;
  end loop;
end $$;

grant usage on schema public to moa_app, moa_system;
grant select, insert, update, delete on all tables in schema public to moa_app, moa_system;
grant usage, select on all sequences in schema public to moa_app, moa_system;
grant execute on all functions in schema public to moa_app, moa_system;
-- Tables, sequences and functions later migrations create get the same grants.
alter default privileges in schema public grant select, insert, update, delete on tables to moa_app, moa_system;
alter default privileges in schema public grant usage, select on sequences to moa_app, moa_system;
alter default privileges in schema public grant execute on functions to moa_app, moa_system;
-- Only the migration role records migrations.
revoke all on schema_migration from moa_app, moa_system;

-- Enables and forces RLS on one tenant-owned table with the two policies. A later migration that
-- creates a tenant table calls it: select moa_enable_tenant_rls('new_table');
-- (src/platform/rls.test.ts fails while a table with a tenant_id has no RLS).
create function moa_enable_tenant_rls(t regclass, col name default 'tenant_id') returns void language plpgsql as $$
begin
  execute format('alter table %s enable row level security', t);
  execute format('alter table %s force row level security', t);
  execute format('drop policy if exists tenant_isolation on %s', t);
  -- current_setting(…, true) is null when never set: no row matches.
  execute format(
    'create policy tenant_isolation on %s to moa_app using (%2$I = current_setting(''moa.tenant_id'', true)) '
    'with check (%2$I = current_setting(''moa.tenant_id'', true))', t, col);
  execute format('drop policy if exists system_all on %s', t);
  execute format('create policy system_all on %s to moa_system using (true) with check (true)', t);
end $$;
revoke execute on function moa_enable_tenant_rls(regclass, name) from public, moa_app, moa_system;

select moa_enable_tenant_rls(c.oid::regclass)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p')
  and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped);
-- The tenant's own row: its id is its tenant.
select moa_enable_tenant_rls('tenant', 'id');
