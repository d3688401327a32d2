-- The sums of the conversion summaries in {summaries} (conversion_summaries.sql), times their
-- sign, by (date, conversion_type, path, path_length): the rows of attribution_path_changes,
-- which marts.conversion_paths_daily adds up.
select
    conversion_date,
    conversion_type,
    path,
    path_length,
    sum(sign) as conversions,
    sum(sign * revenue) as revenue,
    sum(sign * days_to_conversion) as days_to_conversion
from {summaries}
group by conversion_date, conversion_type, path, path_length
