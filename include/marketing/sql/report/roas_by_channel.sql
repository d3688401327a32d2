-- ROAS by channel over a period (either end open), per model: ratios of sums, never averages
-- of ratios.
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
where (%(start)s::date is null or date >= %(start)s::date)
    and (%(end)s::date is null or date <= %(end)s::date)
    and (%(model)s::text is null or model = %(model)s::text)
group by model, channel
order by model, sum(attributed_revenue) desc, channel;
