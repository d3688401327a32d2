-- The dashboard's login, marketing_reader: it may read marts and ops and nothing else, and it is
-- a member of no other role, so nothing inside its session (`set role none`, `reset role`,
-- `set transaction read write`) gives it more than that.
--
-- Roles belong to the server, not to this database. The role may exist already (made by another
-- database's migration, by an earlier version that used it through SET ROLE, or by a DBA), and
-- the user running the migrations may not be allowed to create roles (no CREATEROLE, as on some
-- managed servers). Then the role is left to the DBA, a warning says so, and the dashboard reads
-- with DASHBOARD_WAREHOUSE_URL (docs/operations.md, "The dashboard's read-only login").
do $$
declare
    may_create_roles boolean := (select rolsuper or rolcreaterole from pg_roles where rolname = current_user);
    reader pg_roles%rowtype;
begin
    select * into reader from pg_roles where rolname = 'marketing_reader';
    if not found and may_create_roles then
        begin
            create role marketing_reader login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
            -- For any other client that logs in with it too (the dashboard sets these itself).
            alter role marketing_reader set default_transaction_read_only = on;
            alter role marketing_reader set statement_timeout = '30s';
        exception when duplicate_object or unique_violation then
            null;  -- another database's migration created it at the same moment
        end;
    elsif found and not reader.rolcanlogin and may_create_roles then
        -- the NOLOGIN role of the SET ROLE days
        alter role marketing_reader login noinherit;
    end if;

    if exists (select from pg_roles where rolname = 'marketing_reader') then
        grant usage on schema marts, ops to marketing_reader;
        grant select on all tables in schema marts, ops to marketing_reader;
        -- tables that later migrations create (as this same user) are readable too
        alter default privileges in schema marts, ops grant select on tables to marketing_reader;
    else
        raise warning 'role marketing_reader does not exist and % may not create roles: the dashboard '
                      'cannot read until a DBA creates it or DASHBOARD_WAREHOUSE_URL names a read-only login '
                      '(docs/operations.md)', current_user;
    end if;
end $$;
