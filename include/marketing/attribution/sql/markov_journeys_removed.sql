-- Take away the stored non-converting journeys of the run's persons from the period of their
-- `since` on (every type): their transitions go into markov_changes negated.
with persons as (
    select
        m.person_key,
        marts.markov_period((m.since at time zone %(reporting_timezone)s)::date, %(markov_period)s) as since_period
    from markov_persons m
),

removed as (
    delete from marts.markov_journeys j
    using persons m
    where j.person_key = any(array(select person_key from persons))
      and j.person_key = m.person_key
      and j.period_start >= m.since_period
    returning j.conversion_type, j.period_start, j.channels
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select r.conversion_type, r.period_start, s.from_state, s.to_state, -count(*)
from removed r
cross join lateral marts.markov_steps(r.channels, '(null)') s
group by r.conversion_type, r.period_start, s.from_state, s.to_state;
