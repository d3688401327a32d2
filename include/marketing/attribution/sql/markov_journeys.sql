-- The non-converting journeys (docs/data_driven.md, rule 2) of every person (%(all_persons)s)
-- or of the run's persons from the period of their `since` on, for the conversion types of
-- markov_journey_types: per (person, type, period), the channels of the person's touches of the
-- period (days in the reporting time zone) that lie on no path of the person's conversions of
-- the type, in path order. They are stored, and their transitions added to markov_changes
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

-- Every person's touches and conversions, or (a lookup per person in the person indexes)
-- those of the run's persons from the start of their `since` period on: a conversion before
-- a touch never puts it on a path.
events as (
    select t.person_key, k.conversion_type, t.occurred_at, false as is_conversion, t.event_id, t.channel
    from core.touchpoints t
    cross join markov_journey_types k
    where %(all_persons)s
    union all
    select c.person_key, c.conversion_type, c.occurred_at, true, null, null
    from core.conversions c
    where %(all_persons)s and c.conversion_type in (select conversion_type from markov_journey_types)
    union all
    select m.person_key, k.conversion_type, t.occurred_at, false, t.event_id, t.channel
    from persons m
    cross join lateral (
        select t.occurred_at, t.event_id, t.channel
        from core.touchpoints t
        where t.person_key = m.person_key and t.occurred_at >= m.since_at
        offset 0  -- a lookup per person: the planner may not flatten it into a scan of all
    ) as t
    cross join markov_journey_types k
    union all
    select m.person_key, c.conversion_type, c.occurred_at, true, null, null
    from persons m
    cross join lateral (
        -- by person only: with a bound on time the planner may scan the conversions' time index
        select c.conversion_type, c.occurred_at
        from core.conversions c
        where c.person_key = m.person_key
        offset 0  -- a lookup per person: the planner may not flatten it into a scan of all
    ) as c
    where c.occurred_at >= m.since_at
      and c.conversion_type in (select conversion_type from markov_journey_types)
),

marked as (
    select
        events.*,
        min(occurred_at) filter (where is_conversion) over (
            partition by person_key collate "C", conversion_type
            order by occurred_at desc, is_conversion desc
            rows between unbounded preceding and current row
        ) as next_conversion_at
    from events
),

journeys as (
    select
        person_key,
        conversion_type,
        marts.markov_period((occurred_at at time zone %(reporting_timezone)s)::date, %(markov_period)s) as period_start,
        array_agg(channel order by occurred_at, event_id collate "C") as channels
    from marked
    where not is_conversion
      and (next_conversion_at is null
           or next_conversion_at > occurred_at + make_interval(hours => 24 * %(lookback_days)s))
    group by 1, 2, 3
),

inserted as (
    insert into marts.markov_journeys (person_key, conversion_type, period_start, channels)
    select person_key, conversion_type, period_start, channels
    from journeys
    returning conversion_type, period_start, channels
)

-- Their transitions (rule 6, as marts.markov_steps gives them, written out here rather than
-- called once per journey: a full rebuild has a million journeys).
insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select conversion_type, period_start, from_state, to_state, count(*)
from (
    select i.conversion_type, i.period_start, coalesce(i.channels[k - 1], '(start)') as from_state, i.channels[k] as to_state
    from inserted i
    cross join lateral generate_subscripts(i.channels, 1) as k
    where k = 1 or i.channels[k] <> i.channels[k - 1]
    union all
    select i.conversion_type, i.period_start, i.channels[cardinality(i.channels)], '(null)'
    from inserted i
) as steps
group by conversion_type, period_start, from_state, to_state;
