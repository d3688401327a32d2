-- The persons whose touches a load changed (ops.attribution_queue, read before the run empties
-- it): their non-converting journeys change from the earliest changed touch on (null: all).
insert into markov_persons (person_key, since)
select key, min(coalesce(since, '-infinity'::timestamptz))
from ops.attribution_queue
where kind = 'person'
group by key
on conflict (person_key) do update set since = least(markov_persons.since, excluded.since);
