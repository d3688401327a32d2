-- ROAS by channel over the whole period, per model: ratios of sums, never averages of ratios.
select
    model,
    channel,
    sum(spend) as spend,
    sum(attributed_conversions) as conversions,
    sum(attributed_revenue) as revenue,
    sum(attributed_revenue) / nullif(sum(spend), 0) as roas,
    sum(spend) / nullif(sum(attributed_conversions), 0)::numeric as cpa,
    min(date) as first_day,
    max(date) as last_day
from marts.roas_daily
group by model, channel
order by model, sum(attributed_revenue) desc, channel;
