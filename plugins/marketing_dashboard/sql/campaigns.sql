-- One row per (channel, campaign) over a period under one model; ROAS and CPA are ratios of
-- the period's sums. A null campaign is spend or touches that carried none.
select
    channel,
    campaign,
    sum(spend) as spend,
    sum(attributed_conversions) as attributed_conversions,
    sum(attributed_revenue) as attributed_revenue,
    marts.period_roas(sum(attributed_revenue), sum(spend)) as roas,
    marts.period_cpa(sum(spend), sum(attributed_conversions)) as cpa
from marts.roas_daily
where date between %(start)s and %(end)s
    and model = %(model)s
group by channel, campaign
order by sum(spend) desc, sum(attributed_revenue) desc, channel, campaign nulls first
