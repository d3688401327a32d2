-- The persons of the conversions the run recomputes, as core has them now and as their path
-- rows' touches had them: a conversion at T decides which touches of [T - lookback, T] are on a
-- path, so those persons' non-converting journeys change from T - lookback on. Read before the
-- run replaces the path rows.
with changed as (
    select c.person_key, c.occurred_at - make_interval(hours => 24 * %(lookback_days)s) as since
    from core.conversions c
    where c.conversion_id = any(array(select conversion_id from attribution_affected))
    union all
    select t.person_key, p.conversion_occurred_at - make_interval(hours => 24 * %(lookback_days)s)
    from marts.attribution_paths p
    join core.touchpoints t on t.event_id = p.touchpoint_event_id
    where p.conversion_id = any(array(select conversion_id from attribution_affected))
)

insert into markov_persons (person_key, since)
select person_key, min(since)
from changed
group by person_key
on conflict (person_key) do update set since = least(markov_persons.since, excluded.since);
