-- One row per conversion whose path rows are in {paths} (marts.attribution_paths, or part of
-- it), with what the assisted-conversions and conversion-paths marts take from its path
-- (docs/assists.md), times %(sign)s in the caller's sums (1: rows added, -1: rows removed).
-- A row without a touch (no eligible touch) counts as position 1 of 1: the unattributed label
-- opens and closes, assists nothing, and is the whole path. A select: the caller uses its rows.
with positions as (
    select
        conversion_id,
        conversion_date,
        conversion_type,
        revenue,
        conversion_occurred_at,
        touch_occurred_at,
        touchpoint_event_id,
        channel,
        coalesce(touch_position, 1) as position,
        path_length,
        lag(channel) over by_touch as previous_channel
    from {paths}
    window by_touch as (partition by conversion_id order by coalesce(touch_position, 1))
),

-- Runs of one channel: a run starts where the channel changes, and lasts up to the next start.
runs as (
    select
        positions.*,
        coalesce(lead(position) over by_touch, path_length + 1) - position as run_length
    from positions
    where previous_channel is null or previous_channel <> channel
    window by_touch as (partition by conversion_id order by position)
)

select
    %(sign)s::integer as sign,
    conversion_date,
    conversion_type,
    revenue,
    max(channel) filter (where position = 1) as first_channel,
    max(channel) filter (where position + run_length - 1 = path_length) as last_channel,
    -- a channel assists when one of its runs starts before the last touch
    coalesce(array_agg(distinct channel) filter (where position < path_length), array[]::text[]) as assisting_channels,
    string_agg(
        case when run_length > 1 then channel || ' ×' || run_length else channel end, ' > ' order by position
    ) as path,
    case when count(touchpoint_event_id) = 0 then 0 else path_length end as path_length,
    -- whole days from the first touch to the conversion: elapsed time, whatever the time zone
    coalesce(floor(date_part('epoch', conversion_occurred_at - min(touch_occurred_at)) / 86400), 0)::bigint
        as days_to_conversion
from runs
group by conversion_id, conversion_date, conversion_type, revenue, conversion_occurred_at, path_length
