-- Merge one new file's spend into core: one row per (date, source, medium, campaign). Keys the
-- file restates were removed by ad_spend_beaten.sql; a key still held comes from a file that
-- ranks after this one and stays (within a file, its last line wins). Converted to the
-- reporting currency with the rate of its own day.
with incoming as (
    select distinct on (r.date, r.source, r.medium, r.campaign)
        r.date, r.source, r.medium, r.campaign, r.channel, r.spend, r.currency,
        case when r.currency = %(reporting_currency)s then 1 else fx.rate end as fx_rate,
        r.impressions, r.clicks, r.file_id
    from raw.ad_spend r
    left join core.fx_rates fx on fx.currency = r.currency and fx.date = r.date
    where r.file_id = %(file_id)s
    order by r.date, r.source, r.medium, r.campaign, r.line_number desc
),
upserted as (
    insert into core.ad_spend as s (
        date, source, medium, campaign, channel, spend, spend_original, currency, fx_rate,
        impressions, clicks, file_id
    )
    select
        date, source, medium, campaign, channel, spend * fx_rate, spend, currency, fx_rate,
        impressions, clicks, file_id
    from incoming
    on conflict (date, source, medium, campaign) do nothing
    returning date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from upserted;
