-- Merge one file version's spend into core: one row per (date, source, medium, campaign);
-- the file loaded last restates a key (within a file, its last line). Converted to the
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
    on conflict (date, source, medium, campaign) do update
        set channel = excluded.channel,
            spend = excluded.spend,
            spend_original = excluded.spend_original,
            currency = excluded.currency,
            fx_rate = excluded.fx_rate,
            impressions = excluded.impressions,
            clicks = excluded.clicks,
            file_id = excluded.file_id
    returning date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from upserted;
