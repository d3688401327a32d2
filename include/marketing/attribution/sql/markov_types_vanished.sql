-- Conversion types that have fits but no conversion any more: their fits go, with every
-- non-converting journey of theirs (their transitions into markov_changes, negated). Returns
-- how many types went.
with vanished as (
    delete from marts.markov_types k
    -- a scan per fitted type that stops at its first conversion (`offset 0` keeps it from
    -- becoming an anti-join, which hashed every conversion of the history: 1.6 s a run)
    where not exists (select from core.conversions c where c.conversion_type = k.conversion_type offset 0)
    returning k.conversion_type
),

removed as (
    delete from marts.markov_journeys j
    where j.conversion_type in (select conversion_type from vanished)
    returning j.conversion_type, j.period_start, j.channels
),

changes as (
    insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
    select r.conversion_type, r.period_start, s.from_state, s.to_state, -count(*)
    from removed r
    cross join lateral marts.markov_steps(r.channels, '(null)') s
    group by r.conversion_type, r.period_start, s.from_state, s.to_state
    returning 1
)

select count(*) from vanished;
