-- A restated spend file: every (date, source, medium, campaign) that its old or new version
-- carries is taken again from the live files, as a clean load of them would (the latest file
-- wins, then its last line); a key no live file carries leaves core. Days are queued.
create temp table restated_keys on commit drop as
select distinct date, source, medium, campaign
from raw.ad_spend
where file_id in (%(previous_file_id)s, %(file_id)s);

with removed as (
    delete from core.ad_spend s
    using restated_keys k
    where (s.date, s.source, s.medium, s.campaign) = (k.date, k.source, k.medium, k.campaign)
    returning s.date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from removed;

with winners as (
    select distinct on (r.date, r.source, r.medium, r.campaign)
        r.date, r.source, r.medium, r.campaign, r.channel, r.spend, r.currency,
        case when r.currency = %(reporting_currency)s then 1 else fx.rate end as fx_rate,
        r.impressions, r.clicks, r.file_id
    from raw.ad_spend r
    join restated_keys k using (date, source, medium, campaign)
    join ops.live_files f on f.file_id = r.file_id
    left join core.fx_rates fx on fx.currency = r.currency and fx.date = r.date
    order by r.date, r.source, r.medium, r.campaign, f.rank collate "C" desc, r.line_number desc
),
inserted as (
    insert into core.ad_spend (
        date, source, medium, campaign, channel, spend, spend_original, currency, fx_rate,
        impressions, clicks, file_id
    )
    select
        date, source, medium, campaign, channel, spend * fx_rate, spend, currency, fx_rate,
        impressions, clicks, file_id
    from winners
    returning date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from inserted;

drop table restated_keys;
