-- Add this run's path changes (attribution_path_changes: the conversion sums by path it removed,
-- negated, and those it inserted) to the (date, conversion_type, path, path_length) rows; a row
-- left with no conversion behind it goes. Only the grains the run touched are written.
with changes as (
    select
        date,
        conversion_type,
        path,
        path_length,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        sum(days_to_conversion) as days_to_conversion
    from attribution_path_changes
    group by date, conversion_type, path, path_length
)

insert into marts.conversion_paths_daily as d (
    date, conversion_type, path, path_length, conversions, revenue, days_to_conversion
)
select date, conversion_type, path, path_length, conversions, revenue, days_to_conversion
from changes
where conversions <> 0 or revenue <> 0 or days_to_conversion <> 0
on conflict (date, conversion_type, path, path_length) do update
    set conversions = d.conversions + excluded.conversions,
        revenue = d.revenue + excluded.revenue,
        days_to_conversion = d.days_to_conversion + excluded.days_to_conversion;

delete from marts.conversion_paths_daily d
using (select distinct date from attribution_path_changes) c
where d.date = c.date and d.conversions = 0;
