-- The keys of the new path rows (markov_changed_paths) that got none from the path pass: a
-- channel of theirs had no digit yet (it has one now). Σ of the path's channels' weights.
with keys as (
    select p.conversion_id, sum(c.weight) as markov_key
    from markov_changed_paths p
    join marts.markov_channels c on c.channel = p.channel
    where p.touchpoint_event_id is not null
      and p.conversion_id in (
          select conversion_id from markov_changed_paths
          where touchpoint_event_id is not null and markov_period is not null and markov_key is null
      )
    group by p.conversion_id
)

update marts.attribution_paths p
set markov_key = k.markov_key
from keys k
where p.conversion_id = k.conversion_id
  and p.touchpoint_event_id is not null;
