-- The first and last day (reporting time zone) with a conversion, credits or spend: where an
-- open-ended range run starts or ends. Index lookups only.
select min(first_day), max(last_day)
from (
    select (min(occurred_at) at time zone %(reporting_timezone)s)::date,
           (max(occurred_at) at time zone %(reporting_timezone)s)::date
    from core.conversions
    union all
    select min(date), max(date) from marts.channel_attribution_daily  -- the days of the credits
    union all
    select min(date), max(date) from core.ad_spend
) as bounds (first_day, last_day)
