-- The top conversion paths of a period (docs/assists.md): conversions and revenue of the
-- conversion types asked for, the average path length (touches) and the average whole days
-- from the first touch to the conversion, each a ratio of the period's sums. A null start or
-- end leaves that side open.
select
    path,
    sum(conversions) as conversions,
    sum(revenue) as revenue,
    sum(path_length * conversions)::numeric / nullif(sum(conversions), 0) as average_path_length,
    sum(days_to_conversion)::numeric / nullif(sum(conversions), 0) as average_days_to_conversion
from marts.conversion_paths_daily
where date between coalesce(%(start)s::date, '-infinity'::date) and coalesce(%(end)s::date, 'infinity'::date)
    and conversion_type = any(%(conversion_types)s::text[])
group by path
having sum(conversions) <> 0
order by sum(conversions) desc, sum(revenue) desc, path
limit %(limit)s
