-- Add this run's changes (attribution_assist_changes: the sums of the conversion summaries it
-- removed, negated, and of those it inserted) to the (date, channel, conversion_type) rows; a
-- row left with no conversion behind it goes. Only the grains the run touched are written.
with changes as (
    select
        date,
        channel,
        conversion_type,
        sum(last_touch_conversions) as last_touch_conversions,
        sum(last_touch_value) as last_touch_value,
        sum(first_touch_conversions) as first_touch_conversions,
        sum(first_touch_value) as first_touch_value,
        sum(assisted_conversions) as assisted_conversions,
        sum(assisted_value) as assisted_value
    from attribution_assist_changes
    group by date, channel, conversion_type
)

insert into marts.assisted_conversions_daily as d (
    date, channel, conversion_type, last_touch_conversions, last_touch_value,
    first_touch_conversions, first_touch_value, assisted_conversions, assisted_value
)
select
    date, channel, conversion_type, last_touch_conversions, last_touch_value,
    first_touch_conversions, first_touch_value, assisted_conversions, assisted_value
from changes
where last_touch_conversions <> 0 or first_touch_conversions <> 0 or assisted_conversions <> 0
   or last_touch_value <> 0 or first_touch_value <> 0 or assisted_value <> 0
on conflict (date, channel, conversion_type) do update
    set last_touch_conversions = d.last_touch_conversions + excluded.last_touch_conversions,
        last_touch_value = d.last_touch_value + excluded.last_touch_value,
        first_touch_conversions = d.first_touch_conversions + excluded.first_touch_conversions,
        first_touch_value = d.first_touch_value + excluded.first_touch_value,
        assisted_conversions = d.assisted_conversions + excluded.assisted_conversions,
        assisted_value = d.assisted_value + excluded.assisted_value;

delete from marts.assisted_conversions_daily d
using (select distinct date from attribution_assist_changes) c
where d.date = c.date
  and d.last_touch_conversions = 0 and d.first_touch_conversions = 0 and d.assisted_conversions = 0;
