-- Merge one new file's conversions into core: one row per conversion_id. Rows the file beats
-- were removed by conversions_beaten.sql; a key still held comes from a file that ranks before
-- this one and stays (within the file, its first line wins). Revenue is converted to the reporting currency with the rate of the conversion's own
-- day (in the reporting time zone); lines without a rate were quarantined before this.
with incoming as (
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
    left join core.identities i on r.user_id is null and i.anonymous_id = r.anonymous_id
    left join core.fx_rates fx
        on fx.currency = r.currency
        and fx.date = (r.occurred_at at time zone %(tz)s)::date
    where r.file_id = %(file_id)s
    order by r.conversion_id, r.line_number
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
    from incoming
    on conflict (conversion_id) do nothing
    returning conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from inserted;
