-- Take away the stored non-converting journeys of the run's persons from the period of their
-- `since` on (every type): their transitions go into markov_changes negated.
with persons as (
    select
        m.person_key,
        marts.markov_period((m.since at time zone %(reporting_timezone)s)::date, %(markov_period)s) as since_period
    from markov_persons m
),

-- Found by a lookup per person in the journeys' primary key, deleted by row address.
removed as (
    delete from marts.markov_journeys j
    where j.ctid = any(array(
        select x.ctid
        from persons m
        cross join lateral (
            select x.ctid
            from marts.markov_journeys x
            where x.person_key = m.person_key collate "C" and x.period_start >= m.since_period
            offset 0  -- a lookup per person: the planner may not flatten it into a scan of all
        ) as x
    ))
    returning j.conversion_type, j.period_start, j.channels
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select r.conversion_type, r.period_start, s.from_state, s.to_state, -count(*)
from removed r
cross join lateral marts.markov_steps(r.channels, '(null)') s
group by r.conversion_type, r.period_start, s.from_state, s.to_state;
