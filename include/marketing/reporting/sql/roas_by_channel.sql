-- ROAS and attributed revenue by (model, channel) over a period, plus each model's total
-- (channel null). Every ratio is a ratio of the period's sums, never an average of daily roas.
select
    model,
    channel,
    sum(spend) as spend,
    sum(attributed_conversions) as attributed_conversions,
    sum(attributed_revenue) as attributed_revenue,
    sum(attributed_revenue) / nullif(sum(spend), 0) as roas,
    -- no spend: no cost per acquisition (the daily mart says 0 there, which misleads)
    nullif(sum(spend), 0) / nullif(sum(attributed_conversions)::numeric, 0) as cpa
from marts.roas_daily
where date between %(start)s and %(end)s
    and model = any(%(models)s)
group by grouping sets ((model, channel), (model))
order by array_position(%(models)s, model), channel nulls first
