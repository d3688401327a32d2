-- The assist and path sums of the conversions whose path rows are in assist_paths (a temp view
-- or table over marts.attribution_paths, or part of it: marketing.attribution.run.assist_changes),
-- times %(sign)s (1: rows added, -1: rows removed), added to two temp tables that the daily marts
-- add up (docs/assists.md):
-- - attribution_path_changes, by (date, conversion_type, path, path_length): a conversion's path is the
--   channels of its touches in order joined by ' > ', a run of one channel written once with
--   its count ('Paid Search ×2 > Email'); path_length its touches; days_to_conversion the whole
--   days from its first touch to it (elapsed time, whatever the time zone);
-- - attribution_assist_changes, by (date, channel, conversion_type): the channel of the last touch closes
--   the conversion (one last-touch conversion), that of the first touch opens it (one
--   first-touch conversion), and a channel with a touch before the last one assists it (one
--   assisted conversion, however many of its touches come before); each with its revenue.
-- A row with no touch is a path of one: the unattributed label is the whole path (no touch, no
-- day), closes and opens, and assists nothing. One pass over the paths feeds both tables.
with positions as (
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
        lag(channel) over by_touch as previous_channel,
        array_agg(channel) over (by_touch rows between unbounded preceding and 1 preceding) as channels_before
    from assist_paths
    where path_length > 1
    -- A path's rows are written in conversion time order, so this sort finds them nearly in order.
    window by_touch as (partition by conversion_occurred_at, conversion_id order by touch_position)
),

-- Of a path of several touches, the touches where a run of one channel starts, each with the
-- length of its run (up to the next start, or the end of the path). The same order: no new sort.
runs as materialized (
    select
        positions.*,
        coalesce(lead(position) over by_touch, path_length + 1) - position as run_length
    from positions
    where previous_channel is null or previous_channel <> channel
    window by_touch as (partition by conversion_occurred_at, conversion_id order by position)
),

-- A path of one touch, or none (most conversions): no order to keep.
single_touch as materialized (
    select
        conversion_date,
        conversion_type,
        revenue,
        channel,
        case when touchpoint_event_id is null then 0 else 1 end as path_length,
        coalesce(floor(date_part('epoch', conversion_occurred_at - touch_occurred_at) / 86400), 0)::bigint
            as days_to_conversion
    from assist_paths
    where path_length = 1
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
    select conversion_date, conversion_type, revenue, channel, path_length, days_to_conversion
    from single_touch
),

-- Each channel of a path once per role: the last run closes, the first opens, and the first run
-- of a channel not seen before assists when it starts before the last touch.
conversion_channels as (
    select
        conversion_date,
        channel,
        conversion_type,
        revenue,
        position + run_length - 1 = path_length as closes,
        position = 1 as opens,
        position < path_length and (channels_before is null or channel <> all(channels_before)) as assists
    from runs
    union all
    select conversion_date, channel, conversion_type, revenue, true, true, false
    from single_touch
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
    from conversion_channels
    group by conversion_date, channel, conversion_type
    returning 1
)

select (select count(*) from path_sums), (select count(*) from assist_sums)
