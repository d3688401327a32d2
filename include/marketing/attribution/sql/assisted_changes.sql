-- The sums of the conversion summaries in {summaries} (conversion_summaries.sql), times their
-- sign, by (date, channel, conversion_type): each conversion gives its last touch's channel one
-- last-touch conversion, its first touch's channel one first-touch conversion, and each of its
-- assisting channels one assisted conversion, each with the conversion's revenue as value.
-- The rows of attribution_assist_changes, which marts.assisted_conversions_daily adds up.
select
    s.conversion_date,
    r.channel,
    s.conversion_type,
    coalesce(sum(s.sign) filter (where r.role = 'last'), 0),
    coalesce(sum(s.sign * s.revenue) filter (where r.role = 'last'), 0),
    coalesce(sum(s.sign) filter (where r.role = 'first'), 0),
    coalesce(sum(s.sign * s.revenue) filter (where r.role = 'first'), 0),
    coalesce(sum(s.sign) filter (where r.role = 'assist'), 0),
    coalesce(sum(s.sign * s.revenue) filter (where r.role = 'assist'), 0)
from {summaries} s
cross join lateral (
    select 'last' as role, s.last_channel as channel
    union all
    select 'first', s.first_channel
    union all
    select 'assist', assisting from unnest(s.assisting_channels) as assisting
) as r
group by s.conversion_date, r.channel, s.conversion_type
