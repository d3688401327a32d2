-- The roles the dashboard's login is, or may become with SET ROLE, that can change the warehouse:
-- a superuser, a role that can create roles (and so grant itself more), or one that may write a
-- table or create objects in a warehouse schema. The dashboard refuses to read while there is one.
select
    r.rolname as role,
    case
        when r.rolsuper then 'is a superuser'
        when r.rolcreaterole then 'may create roles'
        else 'may write ' || w.what
    end as reason
from pg_roles as r
left join lateral (
    select n.nspname || '.' || c.relname as what
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname in ('raw', 'core', 'marts', 'ops')
        and c.relkind in ('r', 'p')
        and has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
    union all
    select 'schema ' || n.nspname || ' (create)'
    from pg_namespace as n
    where n.nspname in ('raw', 'core', 'marts', 'ops', 'public')
        and has_schema_privilege(r.oid, n.oid, 'CREATE')
    limit 1
) as w on true
where pg_has_role(session_user, r.oid, 'MEMBER')
    and (r.rolsuper or r.rolcreaterole or w.what is not null)
order by r.rolname
