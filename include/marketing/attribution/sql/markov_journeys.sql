-- The non-converting journeys (docs/data_driven.md, rule 2) of every person (of the slice
-- %(slice)s of %(slice_count)s; null: of every slice), for the conversion types of
-- markov_journey_types: per (person, type, period), the channels of the person's touches of the
-- period (days in the reporting time zone) that lie on no path of the person's conversions of
-- the type, in path order, and their times. They go into markov_journeys_new, their transitions
-- into markov_changes (repeats merged). A full rebuild and a new conversion type compute them
-- here, once the path rows of those persons' conversions are in markov_slice_paths (a temp view
-- the caller makes); an incremental run redoes its persons' from their `since` on
-- (markov_journeys_splice.sql).
--
-- A touch is on a path of type k exactly when it is a path row of a conversion of type k (the
-- path pass gives a conversion every touch of its lookback), so the touches on none are those
-- the path rows do not name: one hash of the path rows' event ids, no search of the person's
-- conversions, and only those touches are sorted.
with journeys as (
    select
        t.person_key collate "C" as person_key,
        k.conversion_type,
        marts.markov_period((t.occurred_at at time zone %(reporting_timezone)s)::date, %(markov_period)s) as period_start,
        array_agg(t.channel order by t.occurred_at, t.event_id collate "C") as channels,
        array_agg(t.occurred_at order by t.occurred_at, t.event_id collate "C") as touched_at
    from core.touchpoints t
    cross join markov_journey_types k
    where (%(slice)s::integer is null or abs(mod(hashtext(t.person_key), %(slice_count)s)) = %(slice)s::integer)
      and not exists (
          select from markov_slice_paths p
          where p.touchpoint_event_id = t.event_id
            and p.conversion_type = k.conversion_type
      )
    group by 1, 2, 3
),

inserted as (
    insert into markov_journeys_new (person_key, conversion_type, period_start, channels, touched_at)
    select person_key, conversion_type, period_start, channels, touched_at
    from journeys
    returning conversion_type, period_start, channels
),

-- Their transitions (rule 6: (start) → first channel, one step where the channel changes, last
-- channel → (null)), from each distinct journey of a fit once, times how many persons took it.
counted as (
    select conversion_type, period_start, channels, count(*) as journeys
    from inserted
    group by conversion_type, period_start, channels
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select c.conversion_type, c.period_start, x.from_state, x.to_state, sum(c.journeys)
from counted c
cross join lateral (
    select coalesce(c.channels[u.i - 1], '(start)'), u.channel
    from unnest(c.channels) with ordinality as u (channel, i)
    where u.i = 1 or c.channels[u.i - 1] <> u.channel
    union all
    select c.channels[cardinality(c.channels)], '(null)'
) as x (from_state, to_state)
group by c.conversion_type, c.period_start, x.from_state, x.to_state;
