-- The temp tables of a run's (or a slice session's) assist and path sums (docs/assists.md),
-- dropped when it commits: assist_changes.sql adds the sums of a set of path rows to them, and
-- assisted_conversions_daily.sql / conversion_paths_daily.sql add them up into the marts.
create temp table attribution_assist_changes (
    date                    date             not null,
    channel                 text collate "C" not null,
    conversion_type         text collate "C" not null,
    last_touch_conversions  bigint           not null,
    last_touch_value        numeric          not null,
    first_touch_conversions bigint           not null,
    first_touch_value       numeric          not null,
    assisted_conversions    bigint           not null,
    assisted_value          numeric          not null
) on commit drop;
create temp table attribution_path_changes (
    date               date             not null,
    conversion_type    text collate "C" not null,
    path               text collate "C" not null,
    path_length        integer          not null,
    conversions        bigint           not null,
    revenue            numeric          not null,
    days_to_conversion bigint           not null
) on commit drop;
