-- The non-converting journeys (docs/data_driven.md, rule 2) of every person (%(all_persons)s;
-- of the slice %(slice)s of %(slice_count)s, null: of every slice) or of the run's persons from
-- the period of their `since` on, for the conversion types of
-- markov_journey_types: per (person, type, period), the channels of the person's touches of the
-- period (days in the reporting time zone) that lie on no path of the person's conversions of
-- the type, in path order. They go into markov_journeys_new, their transitions into markov_changes
-- (repeats merged in the transitions).
--
-- A touch at t is on a path of type k when the person's next conversion of type k at or after t
-- comes by t + lookback. One sort of the persons' touches and conversions (latest first, a
-- conversion before a touch of the same instant) gives each touch that next conversion as a
-- running minimum, with no lookup per touch.
with persons as (
    select
        m.person_key,
        marts.markov_period((m.since at time zone %(reporting_timezone)s)::date, %(markov_period)s)::timestamp
            at time zone %(reporting_timezone)s as since_at
    from markov_persons m
    where not %(all_persons)s
),

-- Every person's touches and conversions, or those of the run's persons from the start of their
-- `since` period on (markov_persons is analysed: a few persons are looked up in the person
-- indexes, a day's hundred thousand joined to a scan): a conversion before a touch never puts
-- it on a path. A conversion is the event without an event id.
events as (
    select t.person_key collate "C" as person_key, k.conversion_type, t.occurred_at, t.event_id collate "C" as event_id,
        t.channel
    from core.touchpoints t
    cross join markov_journey_types k
    where %(all_persons)s
      and (%(slice)s::integer is null or abs(mod(hashtext(t.person_key), %(slice_count)s)) = %(slice)s::integer)
    union all
    select c.person_key collate "C", c.conversion_type collate "C", c.occurred_at, null, null
    from core.conversions c
    where %(all_persons)s and c.conversion_type in (select conversion_type from markov_journey_types)
      and (%(slice)s::integer is null or abs(mod(hashtext(c.person_key), %(slice_count)s)) = %(slice)s::integer)
    union all
    select m.person_key collate "C", k.conversion_type, t.occurred_at, t.event_id collate "C", t.channel
    from persons m
    join core.touchpoints t on t.person_key = m.person_key and t.occurred_at >= m.since_at
    cross join markov_journey_types k
    union all
    select m.person_key collate "C", c.conversion_type collate "C", c.occurred_at, null, null
    from persons m
    join core.conversions c on c.person_key = m.person_key and c.occurred_at >= m.since_at
    where c.conversion_type in (select conversion_type from markov_journey_types)
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
    insert into markov_journeys_new (person_key, conversion_type, period_start, channels)
    select person_key, conversion_type, '9999-12-31'::date - period_rank, array_agg(channel order by occurred_at, event_id)
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
