-- The channels that have no digit in the path keys yet (marts.markov_channels) among those of
-- every touch (%(all_persons)s), or of the touches of the run's persons from their `since` on
-- (new touches come with a queued person). markov_channels_add.sql gives them one.
with seen as (
    select distinct t.channel
    from core.touchpoints t
    where %(all_persons)s
       or (t.person_key = any(array(select person_key from markov_persons))
           and t.occurred_at >= (select m.since from markov_persons m where m.person_key = t.person_key))
)

select s.channel
from seen s
where not exists (select from marts.markov_channels c where c.channel = s.channel)
order by s.channel collate "C";
