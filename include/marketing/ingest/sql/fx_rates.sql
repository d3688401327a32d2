-- Apply the rates in incoming_rates (made by fx_rates_beaten.sql for a new file, by
-- fx_rates_restate.sql for a restated one) to core. A restated rate re-converts the revenue and
-- spend of its day and queues them; a new rate changes no loaded row (lines without a rate
-- were quarantined).
create temp table restated_rates on commit drop as
with incoming as (
    select * from incoming_rates
),
previous as (
    select fx.date, fx.currency, fx.rate
    from core.fx_rates fx
    join incoming using (date, currency)
),
upserted as (
    insert into core.fx_rates as fx (date, currency, rate, file_id)
    select date, currency, rate, file_id from incoming
    on conflict (date, currency) do update
        set rate = excluded.rate, file_id = excluded.file_id
    returning fx.date, fx.currency, fx.rate
)
select upserted.*
from upserted
join previous using (date, currency)
where previous.rate <> upserted.rate;

with converted as (
    update core.conversions c
    set fx_rate = r.rate, revenue = c.revenue_original * r.rate
    from restated_rates r
    where c.currency = r.currency
      and c.occurred_at >= (r.date::timestamp at time zone %(tz)s)
      and c.occurred_at < ((r.date + 1)::timestamp at time zone %(tz)s)
    returning c.conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from converted;

with converted as (
    update core.ad_spend s
    set fx_rate = r.rate, spend = s.spend_original * r.rate
    from restated_rates r
    where s.currency = r.currency and s.date = r.date
    returning s.date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from converted;

drop table incoming_rates;
drop table restated_rates;
