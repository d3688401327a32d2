-- The non-converting journeys (docs/data_driven.md, rule 2) of the run's persons, redone from
-- their `since` on, for the conversion types of markov_journey_types: the stored journeys of the
-- periods from since's on go (their transitions into markov_changes negated); the new ones go
-- into markov_journeys_new (their transitions into markov_changes).
--
-- Nothing before `since` changed: a touch's place on a path depends only on the person's
-- conversions up to `lookback` after it, and a changed conversion at T puts its person in with
-- `since` at most T - lookback (markov_persons_from_affected.sql). So a stored journey of since's
-- period keeps its touches before `since` as they are (`touched_at` says which), and only the
-- person's touches and conversions from `since` on are read and sorted: for the usual day, that
-- day's rows of each person, not the month of them.
with persons as (
    select
        m.person_key collate "C" as person_key,
        m.person_key as core_key,  -- core's collation, so its person indexes serve
        m.since,
        marts.markov_period((m.since at time zone %(reporting_timezone)s)::date, %(markov_period)s) as since_period
    from markov_persons m
    order by m.person_key  -- the lookups below then walk each index in order
),

-- The stored journeys of the persons from since's period on, found by a lookup per person in
-- the primary key and deleted by row address.
removed as (
    delete from marts.markov_journeys j
    where j.ctid = any(array(
        select x.ctid
        from persons m
        cross join lateral (
            select x.ctid
            from marts.markov_journeys x
            where x.person_key = m.person_key and x.period_start >= m.since_period
            offset 0  -- a lookup per person: the planner may not flatten it into a scan of all
        ) as x
    ))
    returning j.person_key, j.conversion_type, j.period_start, j.channels, j.touched_at
),

-- What stays of them: the first `kept` touches, those before `since` of since's period (path
-- order is time order, so a prefix); none of the later periods'.
kept as (
    select r.*, coalesce(h.n, 0) as kept
    from removed r
    join persons m on m.person_key = r.person_key
    left join lateral (
        select count(*)::integer as n from unnest(r.touched_at) as t where t < m.since
    ) as h on r.period_start = m.since_period
),

heads as (
    select person_key, conversion_type, period_start, channels[1:kept] as channels, touched_at[1:kept] as touched_at,
        kept
    from kept
    where kept > 0
),

-- The persons' touches and conversions from `since` on. Those of persons whose `since` is at or
-- after %(range_from)s (the usual day: the persons the day's loads touched) are read by time, the
-- table's last pages (a BRIN range on the touches, the conversions' time index), and matched to
-- them in one hash; the others' (a conversion's lookback: a month back) are looked up person by
-- person in the person indexes (the touches' covers what is read), where a join would hash every
-- touch of the history. A conversion is the event without an event id.
touches as materialized (  -- once, whatever the number of types
    select m.person_key, t.occurred_at, t.event_id, t.channel
    from persons m
    cross join lateral (
        select t.occurred_at, t.event_id collate "C" as event_id, t.channel
        from core.touchpoints t
        where t.person_key = m.core_key and t.occurred_at >= m.since
        offset 0
    ) as t
    where m.since < %(range_from)s
    union all
    select m.person_key, t.occurred_at, t.event_id collate "C", t.channel
    from (
        select person_key, occurred_at, event_id, channel
        from core.touchpoints
        where occurred_at >= %(range_from)s
        offset 0  -- read once and hashed, not looked up again person by person
    ) as t
    join persons m on m.core_key = t.person_key
    where m.since >= %(range_from)s and t.occurred_at >= m.since
),

conversions as (
    select m.person_key, c.conversion_type, c.occurred_at
    from persons m
    cross join lateral (
        select c.conversion_type collate "C" as conversion_type, c.occurred_at
        from core.conversions c
        where c.person_key = m.core_key and c.occurred_at >= m.since
        offset 0
    ) as c
    where m.since < %(range_from)s
    union all
    select m.person_key, c.conversion_type collate "C", c.occurred_at
    from (
        select person_key, conversion_type, occurred_at
        from core.conversions
        where occurred_at >= %(range_from)s
        offset 0
    ) as c
    join persons m on m.core_key = c.person_key
    where m.since >= %(range_from)s and c.occurred_at >= m.since
),

events as (
    select t.person_key, k.conversion_type, t.occurred_at, t.event_id, t.channel
    from touches t
    cross join markov_journey_types k
    union all
    select c.person_key, c.conversion_type, c.occurred_at, null, null
    from conversions c
    where c.conversion_type in (select conversion_type from markov_journey_types)
),

-- Latest first (a conversion before a touch of the same instant), a running minimum gives each
-- touch the person's next conversion of the type at or after it (markov_journeys.sql).
marked as (
    select
        e.*,
        min(e.occurred_at) filter (where e.event_id is null) over (
            partition by e.person_key, e.conversion_type
            order by e.occurred_at desc, e.event_id desc
            rows between unbounded preceding and current row
        ) as next_conversion_at
    from events e
),

-- The touches on no path of the type, by period: the tails of the new journeys.
tails as (
    select
        person_key,
        conversion_type,
        marts.markov_period((occurred_at at time zone %(reporting_timezone)s)::date, %(markov_period)s) as period_start,
        array_agg(channel order by occurred_at, event_id) as channels,
        array_agg(occurred_at order by occurred_at, event_id) as touched_at
    from marked
    where event_id is not null
      and (next_conversion_at is null
           or next_conversion_at > occurred_at + make_interval(hours => 24 * %(lookback_days)s))
    group by 1, 2, 3
),

journeys as (
    select
        coalesce(h.person_key, t.person_key) as person_key,
        coalesce(h.conversion_type, t.conversion_type) as conversion_type,
        coalesce(h.period_start, t.period_start) as period_start,
        coalesce(h.channels, '{}') || coalesce(t.channels, '{}') as channels,
        coalesce(h.touched_at, '{}') || coalesce(t.touched_at, '{}') as touched_at,
        coalesce(h.kept, 0) as kept
    from heads h
    full join tails t using (person_key, conversion_type, period_start)
),

inserted as (
    insert into markov_journeys_new (person_key, conversion_type, period_start, channels, touched_at)
    select person_key, conversion_type, period_start, channels, touched_at
    from journeys
),

-- Their transitions (rule 6), the new journeys' less the removed ones'. A journey's first `kept`
-- touches are the same before and after, and so are the transitions into them: only those
-- after them are counted, on both sides (for the usual day: the stored journey's last channel
-- to (null) goes, its way on to the day's touches comes).
changes as (
    select j.conversion_type, j.period_start, s.from_state, s.to_state, 1 as journeys
    from journeys j
    cross join lateral marts.markov_steps_after(j.channels, '(null)', j.kept) s
    union all
    select r.conversion_type, r.period_start, s.from_state, s.to_state, -1
    from kept r
    cross join lateral marts.markov_steps_after(r.channels, '(null)', r.kept) s
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select conversion_type, period_start, from_state, to_state, sum(journeys)
from changes
group by conversion_type, period_start, from_state, to_state
having sum(journeys) <> 0;
