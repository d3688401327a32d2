-- Assisted conversions by channel over a period (docs/assists.md): last-touch, first-touch and
-- assisted conversions and value of the conversion types asked for, and the assisted /
-- last-touch ratio of the period's sums (null when the channel closed nothing): near 0 the
-- channel closes, above 1 it mostly assists. A null start or end leaves that side open.
select
    channel,
    sum(last_touch_conversions) as last_touch_conversions,
    sum(last_touch_value) as last_touch_value,
    sum(first_touch_conversions) as first_touch_conversions,
    sum(first_touch_value) as first_touch_value,
    sum(assisted_conversions) as assisted_conversions,
    sum(assisted_value) as assisted_value,
    sum(assisted_conversions)::numeric / nullif(sum(last_touch_conversions), 0) as assisted_ratio
from marts.assisted_conversions_daily
where date between coalesce(%(start)s::date, '-infinity'::date) and coalesce(%(end)s::date, 'infinity'::date)
    and conversion_type = any(%(conversion_types)s::text[])
group by channel
order by sum(last_touch_conversions) + sum(assisted_conversions) desc, channel
