-- ROAS and attributed revenue by (model, channel) over a period, plus each model's total
-- (channel null). Every ratio is a ratio of the period's sums, never an average of daily roas.
select
    model,
    channel,
    sum(spend) as spend,
    sum(attributed_conversions) as attributed_conversions,
    sum(attributed_revenue) as attributed_revenue,
    marts.period_roas(sum(attributed_revenue), sum(spend)) as roas,
    marts.period_cpa(sum(spend), sum(attributed_conversions)) as cpa
from marts.roas_daily
where date between %(start)s and %(end)s
    and model = any(%(models)s)
group by grouping sets ((model, channel), (model))
order by array_position(%(models)s, model), channel nulls first
