-- ROAS by (date, model, channel, campaign): spend and attributed revenue meet on the same day,
-- channel and campaign, and a row exists when either side does (a full outer join, kept up to
-- date side by side). A run touches only the rows it can change: the rows of the days in
-- attribution_spend_dates get their spend restated from core.ad_spend (for every model), and
-- the rows of the grains in attribution_changes get those changes added. The touched rows'
-- new values are computed first, then the touched rows are replaced; a row with neither spend
-- nor credits behind it is not written back.
-- Only conversions of the final types (FINAL_CONVERSION_TYPES) count on the attribution side, so
-- CPA is the cost of a purchase, not of a page view (docs/assists.md).
-- A campaign that is null or empty on either side is the same campaign, stored as null. roas
-- and cpa are generated columns; period ROAS is Σ attributed_revenue / Σ spend.
create temp table roas_daily_touched on commit drop as
with models (model) as (
    select unnest(%(models)s::text[])  -- marketing.attribution.models.MODELS
),

spend_restated as (
    select
        s.date,
        m.model,
        s.channel,
        nullif(s.campaign, '') as campaign,
        sum(s.spend) as spend,
        count(*) as spend_rows
    from core.ad_spend s
    join attribution_spend_dates d on d.date = s.date
    cross join models m
    group by s.date, m.model, s.channel, nullif(s.campaign, '')
),

credit_changes as (
    select
        date,
        model,
        channel,
        nullif(campaign, '') as campaign,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        sum(credit_rows) as credit_rows
    from attribution_changes
    where conversion_type = any(%(final_conversion_types)s::text[])
    group by date, model, channel, nullif(campaign, '')
),

-- The touched rows as they are now (index lookups by day, and by grain).
current_rows as (
    select r.date, r.model, r.channel, r.campaign, r.spend, r.spend_rows,
           r.attributed_conversions, r.attributed_revenue, r.credit_rows
    from marts.roas_daily r
    join attribution_spend_dates d on d.date = r.date
    union
    select r.date, r.model, r.channel, r.campaign, r.spend, r.spend_rows,
           r.attributed_conversions, r.attributed_revenue, r.credit_rows
    from marts.roas_daily r
    join credit_changes c
        on c.date = r.date and c.model = r.model and c.channel = r.channel
        and coalesce(c.campaign, '') = coalesce(r.campaign, '')
),

-- A restated day's rows keep their attribution side; their spend comes from spend_restated.
touched as (
    select
        r.date, r.model, r.channel, r.campaign,
        case when d.date is null then r.spend else 0 end as spend,
        case when d.date is null then r.spend_rows else 0 end as spend_rows,
        r.attributed_conversions, r.attributed_revenue, r.credit_rows
    from current_rows r
    left join attribution_spend_dates d on d.date = r.date
    union all
    select date, model, channel, campaign, spend, spend_rows, 0, 0, 0
    from spend_restated
    union all
    select date, model, channel, campaign, 0, 0, conversions, revenue, credit_rows
    from credit_changes
)

select
    date,
    model,
    channel,
    campaign,
    sum(spend) as spend,
    sum(spend_rows) as spend_rows,
    -- no float residue of adding and taking away the same credits
    case when sum(credit_rows) = 0 then 0 else sum(attributed_conversions) end as attributed_conversions,
    sum(attributed_revenue) as attributed_revenue,
    sum(credit_rows) as credit_rows
from touched
group by date, model, channel, campaign;

delete from marts.roas_daily r
using roas_daily_touched t
where r.date = t.date and r.model = t.model and r.channel = t.channel
  and coalesce(r.campaign, '') = coalesce(t.campaign, '');

insert into marts.roas_daily (
    date, model, channel, campaign, spend, attributed_conversions, attributed_revenue, spend_rows, credit_rows
)
select date, model, channel, campaign, spend, attributed_conversions, attributed_revenue, spend_rows, credit_rows
from roas_daily_touched
where spend_rows > 0 or credit_rows > 0;

drop table roas_daily_touched;
