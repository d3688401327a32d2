-- The path rows of a set of conversions (docs/attribution.md): one row per eligible touch with
-- what the path-wide rules give it (the last non-direct touch, the time-decay and position
-- shares; sql/models/ has each model's credit of a row), or one row with no touch for a
-- conversion without any (every model credits it 1: n = 1, position 1, weight 1).
-- Which conversions: every one (%(all_conversions)s) or those in the temp table
-- attribution_affected; and of those, the slice %(slice)s of %(slice_count)s (null: every slice).
-- A full rebuild's slice also reads only its slice of the touchpoints (a person's touches are
-- in the slice of the person). Event ids compare byte-wise (collate "C"), so the tie-break of
-- equal timestamps is the same on every server. A select: the caller inserts its rows.
with conversions_attributed as (
    select
        c.conversion_id,
        c.occurred_at,
        c.occurred_at - make_interval(hours => 24 * %(lookback_days)s) as lookback_start,
        (c.occurred_at at time zone %(reporting_timezone)s)::date as conversion_date,
        abs(mod(hashtext(c.person_key), %(slice_count)s)) as slice,
        c.person_key,
        c.conversion_type,
        c.revenue
    from core.conversions c
    where (cardinality(%(conversion_types)s::text[]) = 0
           or c.conversion_type = any(%(conversion_types)s::text[]))
      -- `= any(array(...))`: one index lookup per conversion. With a join the planner may
      -- expect many rows (it cannot know how few are named) and scan the whole table.
      and (%(all_conversions)s
           or c.conversion_id = any(array(select conversion_id from attribution_affected)))
      and (%(slice)s::integer is null
           or abs(mod(hashtext(c.person_key), %(slice_count)s)) = %(slice)s::integer)
),

-- Each conversion with its eligible touches (the left join keeps one without any), and each
-- touch's time-decay weight r = 2^(−(T − t)/H). The weights are normalised by their sum below;
-- when the lookback spans more than %(max_half_lives)s half-lives a weight could underflow, and the shares
-- are taken relative to the path's last touch instead (decay_from_conversion is false).
touches as (
    select
        c.conversion_id,
        c.occurred_at as conversion_occurred_at,
        c.conversion_date,
        c.slice,
        c.conversion_type,
        c.revenue,
        t.event_id,
        t.occurred_at as touch_occurred_at,
        t.channel,
        t.campaign,
        t.channel <> all(%(direct_channels)s::text[]) as non_direct,
        mc.weight as markov_weight,
        case when %(decay_from_conversion)s then
            power(2::double precision, -date_part('epoch', c.occurred_at - t.occurred_at)
                                        / (%(half_life_days)s::double precision * 86400.0))
        end as decay
    from conversions_attributed c
    left join core.touchpoints t
        on t.person_key = c.person_key
        and t.occurred_at >= c.lookback_start
        and t.occurred_at <= c.occurred_at
        and (not %(all_conversions)s or %(slice)s::integer is null
             or abs(mod(hashtext(t.person_key), %(slice_count)s)) = %(slice)s::integer)
    -- the channel's weight in the path's key for `markov` (null when the run has no markov)
    left join marts.markov_channels mc on %(with_markov)s and mc.channel = t.channel
),

-- Two passes over each path, in the order of its touches (one sort serves both):
-- - running: the position, and the non-direct touches so far (the last non-direct touch is
--   the one after which no other follows); whether the touch is the first of its channel;
-- - whole path: n, the non-direct touches in all, the last touch, the sum of the weights;
--   whether the channel differs from the touch before (a run of one channel starts);
--   for `markov` (docs/data_driven.md) the touch before and the path's key: the sum of its
--   channels' weights, a multiset of the channels (counted only when every channel has one).
-- Paths come in the order of their conversions' time, so rows are written in day order.
paths as (
    select
        touches.*,
        row_number() over whole_path as position,
        count(*) filter (where non_direct) over running as non_direct_so_far,
        array_position(array_agg(channel) over running, channel) = row_number() over running as first_of_channel,
        channel is distinct from lag(channel) over whole_path as run_starts,
        count(event_id) over whole_path as n,
        count(*) filter (where non_direct) over whole_path as non_direct_total,
        max(touch_occurred_at) over whole_path as last_touch_at,
        sum(decay) over whole_path as decay_sum,
        lag(channel) over whole_path as previous_channel,
        sum(markov_weight) over whole_path as markov_key,
        count(markov_weight) over whole_path as markov_weighed
    from touches
    window
        running as (
            partition by conversion_occurred_at, conversion_id collate "C"
            order by touch_occurred_at, event_id collate "C"
            rows between unbounded preceding and current row
        ),
        whole_path as (
            partition by conversion_occurred_at, conversion_id collate "C"
            order by touch_occurred_at, event_id collate "C"
            rows between unbounded preceding and unbounded following
        )
)

-- - last_non_direct: the last touch not in the direct set; when all are direct, the last touch.
-- - time_decay: r / Σ r. Relative to the last touch L (only for a lookback of more than
--   %(max_half_lives)s half-lives): 2^(−(L − t)/H) over the same sum, a touch more than that
--   older than L weighing 0 (2^-1000 ≈ 1e-301; power() fails on an underflow).
-- - position_based: (first, middle, last) weights; n = 2 splits the middle weight in halves.
-- - assists, run_starts: for the assist and path sums (assist_changes.sql, docs/assists.md): the
--   first touch of its channel before the last touch assists; a run of one channel starts.
select
    slice,
    conversion_id,
    conversion_occurred_at,
    conversion_date,
    conversion_type,
    revenue,
    event_id as touchpoint_event_id,
    touch_occurred_at,
    coalesce(channel, %(unattributed_label)s) as channel,
    campaign,
    case when event_id is not null then position end as touch_position,
    greatest(n, 1) as path_length,
    case
        when non_direct_total = 0 then position = greatest(n, 1)
        else non_direct and non_direct_so_far = non_direct_total
    end as last_non_direct,
    case
        when event_id is null then 1
        when %(decay_from_conversion)s then decay / decay_sum
        else own.weight / (
            select sum(case when age.half_lives > %(max_half_lives)s then 0 else power(2::double precision, -age.half_lives) end)
            from core.touchpoints t
            cross join lateral (
                select date_part('epoch', paths.last_touch_at - t.occurred_at)
                    / (%(half_life_days)s::double precision * 86400.0) as half_lives
            ) as age
            where t.person_key = (select person_key from core.conversions where conversion_id = paths.conversion_id)
              and t.occurred_at >= paths.conversion_occurred_at - make_interval(hours => 24 * %(lookback_days)s)
              and t.occurred_at <= paths.conversion_occurred_at
        )
    end as time_decay_credit,
    case
        when n <= 1 then 1
        when n = 2 and position = 1 then %(first_weight)s::double precision + %(middle_weight)s::double precision / 2
        when n = 2 then %(last_weight)s::double precision + %(middle_weight)s::double precision / 2
        when position = 1 then %(first_weight)s::double precision
        when position = n then %(last_weight)s::double precision
        else %(middle_weight)s::double precision / (n - 2)
    end as position_credit,
    event_id is not null and first_of_channel and position < n as assists,
    event_id is not null and run_starts as run_starts,
    previous_channel,
    case when %(with_markov)s then marts.markov_period(conversion_date, %(markov_period)s) end as markov_period,
    case when event_id is not null and markov_weighed = n then markov_key end as markov_key
from paths
cross join lateral (
    select case
        when %(decay_from_conversion)s or event_id is null then null
        when date_part('epoch', last_touch_at - touch_occurred_at) / (%(half_life_days)s::double precision * 86400.0) > %(max_half_lives)s then 0
        else power(2::double precision, -date_part('epoch', last_touch_at - touch_occurred_at)
                                         / (%(half_life_days)s::double precision * 86400.0))
    end as weight
) as own
