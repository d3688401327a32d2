-- The persons whose touches a load changed (ops.attribution_queue, read before the run empties
-- it): their non-converting journeys change from the earliest changed touch on (null: all).
-- The run's first persons (markov_persons is empty): a plain insert, one row per person (an
-- upsert's speculative insertion cost 0.6 s of a day's 150k persons).
insert into markov_persons (person_key, since)
select key, min(coalesce(since, '-infinity'::timestamptz))
from ops.attribution_queue
where kind = 'person'
group by key;
