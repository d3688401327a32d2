-- The assist and path sums of the conversions whose path rows are in assist_paths (a temp view
-- or table over marts.attribution_paths, or part of it: marketing.attribution.run.assist_changes),
-- times %(sign)s (1: rows added, -1: rows removed), added to two temp tables that the daily marts
-- add up (docs/assists.md). The path pass (attribution_paths.sql) flags the rows they need:
-- `assists`, the first touch of its channel before the last touch, and `run_starts`, a touch
-- whose channel is not that of the touch before it.
-- - attribution_path_changes, by (date, conversion_type, path, path_length): a conversion's path is the
--   channels of its touches in order joined by ' > ', a run of one channel written once with
--   its count ('Paid Search ×2 > Email'); path_length its touches; days_to_conversion the whole
--   days from its first touch to it (elapsed time, whatever the time zone);
-- - attribution_assist_changes, by (date, channel, conversion_type): the channel of the last touch closes
--   the conversion (one last-touch conversion), that of the first touch opens it (one
--   first-touch conversion), and a channel with a touch before the last one assists it (one
--   assisted conversion, however many of its touches come before); each with its revenue:
--   one aggregation of the rows, in any order.
-- A row with no touch is a path of one: the unattributed label is the whole path (no touch, no
-- day), closes and opens, and assists nothing.
with runs as (
    -- Where each run of a path of several touches starts, with its length (up to the next start).
    select
        conversion_id,
        conversion_date,
        conversion_type,
        revenue,
        conversion_occurred_at,
        touch_occurred_at,
        channel,
        touch_position as position,
        path_length,
        coalesce(lead(touch_position) over by_touch, path_length + 1) - touch_position as run_length
    from assist_paths
    where path_length > 1 and run_starts
    window by_touch as (partition by conversion_occurred_at, conversion_id order by touch_position)
),

conversion_paths as (
    select
        max(conversion_date) as conversion_date,
        max(conversion_type) as conversion_type,
        max(revenue) as revenue,
        string_agg(
            case when run_length > 1 then channel || ' ×' || run_length else channel end, ' > ' order by position
        ) as path,
        max(path_length) as path_length,
        floor(date_part('epoch', conversion_occurred_at - min(touch_occurred_at)) / 86400)::bigint
            as days_to_conversion
    from runs
    group by conversion_occurred_at, conversion_id
    union all
    -- A path of one touch, or none (most conversions): no order to keep.
    select
        conversion_date,
        conversion_type,
        revenue,
        channel,
        case when touchpoint_event_id is null then 0 else 1 end,
        coalesce(floor(date_part('epoch', conversion_occurred_at - touch_occurred_at) / 86400), 0)::bigint
    from assist_paths
    where path_length = 1
),

path_sums as (
    insert into attribution_path_changes (date, conversion_type, path, path_length, conversions, revenue, days_to_conversion)
    select
        conversion_date,
        conversion_type,
        path,
        path_length,
        %(sign)s * count(*),
        %(sign)s * sum(revenue),
        %(sign)s * sum(days_to_conversion)
    from conversion_paths
    group by conversion_date, conversion_type, path, path_length
    returning 1
),

assist_sums as (
    insert into attribution_assist_changes (
        date, channel, conversion_type, last_touch_conversions, last_touch_value,
        first_touch_conversions, first_touch_value, assisted_conversions, assisted_value
    )
    select
        conversion_date,
        channel,
        conversion_type,
        %(sign)s * count(*) filter (where closes),
        %(sign)s * coalesce(sum(revenue) filter (where closes), 0),
        %(sign)s * count(*) filter (where opens),
        %(sign)s * coalesce(sum(revenue) filter (where opens), 0),
        %(sign)s * count(*) filter (where assists),
        %(sign)s * coalesce(sum(revenue) filter (where assists), 0)
    from assist_paths
    cross join lateral (
        select coalesce(touch_position, 1) = path_length as closes, coalesce(touch_position, 1) = 1 as opens
    ) as roles
    where closes or opens or assists
    group by conversion_date, channel, conversion_type
    returning 1
)

select (select count(*) from path_sums), (select count(*) from assist_sums)
