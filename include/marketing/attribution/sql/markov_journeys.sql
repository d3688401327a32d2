-- The non-converting journeys (docs/data_driven.md, rule 2) of every person (of the slice
-- %(slice)s of %(slice_count)s; null: of every slice), for the conversion types of
-- markov_journey_types: per (person, type, period), the channels of the person's touches of the
-- period (days in the reporting time zone) that lie on no path of the person's conversions of
-- the type, in path order, and their times. They go into markov_journeys_new, their transitions
-- into markov_changes (repeats merged in the transitions). A full rebuild and a new conversion
-- type compute them here; an incremental run redoes its persons' from their `since` on
-- (markov_journeys_splice.sql).
--
-- A touch at t is on a path of type k when the person's next conversion of type k at or after t
-- comes by t + lookback. One sort of the persons' touches and conversions (latest first, a
-- conversion before a touch of the same instant) gives each touch that next conversion as a
-- running minimum, with no lookup per touch. A conversion is the event without an event id.
with events as (
    select t.person_key collate "C" as person_key, k.conversion_type, t.occurred_at, t.event_id collate "C" as event_id,
        t.channel
    from core.touchpoints t
    cross join markov_journey_types k
    where %(slice)s::integer is null or abs(mod(hashtext(t.person_key), %(slice_count)s)) = %(slice)s::integer
    union all
    select c.person_key collate "C", c.conversion_type collate "C", c.occurred_at, null, null
    from core.conversions c
    where c.conversion_type in (select conversion_type from markov_journey_types)
      and (%(slice)s::integer is null or abs(mod(hashtext(c.person_key), %(slice_count)s)) = %(slice)s::integer)
),

-- One sort serves every step below: by person and type, latest period first (period_rank, the
-- days from the period's start to 9999-12-31, grows as periods get older), then latest first
-- (a conversion before a touch of the same instant: a null event id comes first). Latest first
-- is also time order, so a running minimum gives each touch the person's next conversion of
-- the type at or after it; the journeys are groups of the same order.
marked as (
    select
        e.*,
        '9999-12-31'::date - e.period_start as period_rank,
        min(e.occurred_at) filter (where e.event_id is null) over (
            partition by e.person_key, e.conversion_type
            order by '9999-12-31'::date - e.period_start, e.occurred_at desc, e.event_id desc
            rows between unbounded preceding and current row
        ) as next_conversion_at
    from (
        select events.*,
            marts.markov_period((occurred_at at time zone %(reporting_timezone)s)::date, %(markov_period)s) as period_start
        from events
    ) as e
),

-- The touches on no path of the type (its next conversion is none, or beyond the lookback),
-- with the touch before each in its journey (the next row: latest first) and whether it is the
-- journey's last. Read twice, so computed once.
steps as materialized (
    select
        person_key,
        conversion_type,
        period_rank,
        occurred_at,
        event_id,
        channel,
        lead(channel) over journey as previous_channel,
        row_number() over journey = 1 as last
    from marked
    where event_id is not null
      and (next_conversion_at is null
           or next_conversion_at > occurred_at + make_interval(hours => 24 * %(lookback_days)s))
    window journey as (partition by person_key, conversion_type, period_rank order by occurred_at desc, event_id desc)
),

inserted as (
    insert into markov_journeys_new (person_key, conversion_type, period_start, channels, touched_at)
    select person_key, conversion_type, '9999-12-31'::date - period_rank, array_agg(channel order by occurred_at, event_id),
        array_agg(occurred_at order by occurred_at, event_id)
    from steps
    group by person_key, conversion_type, period_rank
),

-- Their transitions (rule 6: repeats merged): the rows counted by what decides them (a few
-- hundred groups), then those groups give the transitions.
counted as (
    select conversion_type, period_rank, previous_channel, channel, last, count(*) as touches
    from steps
    group by 1, 2, 3, 4, 5
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select g.conversion_type, '9999-12-31'::date - g.period_rank, x.from_state, x.to_state, sum(g.touches)
from counted g
cross join lateral (
    values
        (coalesce(g.previous_channel, '(start)'), case when g.previous_channel is distinct from g.channel then g.channel end),
        (g.channel, case when g.last then '(null)' end)
) as x (from_state, to_state)
where x.to_state is not null
group by g.conversion_type, g.period_rank, x.from_state, x.to_state;
