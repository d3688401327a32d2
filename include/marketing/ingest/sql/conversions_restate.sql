-- A restated conversion file: every conversion_id that its old or new version carries is taken
-- again from the live files, as a clean load of them would (the earliest file wins, then its
-- first line). A conversion stays while any live file carries it. This reads raw.conversions of
-- every live file (a scan), which only a restatement pays. Changed conversions are queued.
create temp table restated_keys on commit drop as
select distinct conversion_id
from raw.conversions
where file_id in (%(previous_file_id)s, %(file_id)s);

analyze restated_keys;

with removed as (
    delete from core.conversions c
    using restated_keys k
    where c.conversion_id = k.conversion_id
    returning c.conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from removed;

with winners as (
    select distinct on (r.conversion_id)
        r.conversion_id,
        r.occurred_at,
        coalesce('u:' || r.user_id, 'u:' || i.user_id, 'a:' || r.anonymous_id) as person_key,
        r.anonymous_id,
        r.user_id,
        r.conversion_type,
        r.revenue as revenue_original,
        r.currency,
        case when r.currency = %(reporting_currency)s then 1 else fx.rate end as fx_rate,
        r.file_id,
        r.line_number
    from raw.conversions r
    join restated_keys k on k.conversion_id = r.conversion_id
    join ops.live_files f on f.file_id = r.file_id
    left join core.identities i on r.user_id is null and i.anonymous_id = r.anonymous_id
    left join core.fx_rates fx
        on fx.currency = r.currency
        and fx.date = (r.occurred_at at time zone %(tz)s)::date
    order by r.conversion_id, f.rank collate "C", r.line_number
),
inserted as (
    insert into core.conversions (
        conversion_id, occurred_at, person_key, anonymous_id, user_id, conversion_type,
        revenue, revenue_original, currency, fx_rate, file_id, line_number
    )
    select
        conversion_id, occurred_at, person_key, anonymous_id, user_id, conversion_type,
        case when revenue_original = 0 then 0 else revenue_original * fx_rate end,
        revenue_original, currency, fx_rate, file_id, line_number
    from winners
    returning conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from inserted;

drop table restated_keys;
