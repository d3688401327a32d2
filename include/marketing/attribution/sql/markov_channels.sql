-- The channels that have no digit in the path keys yet (marts.markov_channels) among those of
-- every touch (%(all_persons)s), or of the touches of the run's persons from their `since` on
-- (new touches come with a queued person). markov_channels_add.sql gives them one.
with seen as (
    select distinct t.channel
    from core.touchpoints t
    where %(all_persons)s
    union
    -- a lookup per person in the touchpoints' person index
    select distinct t.channel
    from markov_persons m
    cross join lateral (
        select t.channel
        from core.touchpoints t
        where t.person_key = m.person_key and t.occurred_at >= m.since
        offset 0  -- a lookup per person: the planner may not flatten it into a scan of all
    ) as t
    where not %(all_persons)s
)

select s.channel
from seen s
where not exists (select from marts.markov_channels c where c.channel = s.channel)
order by s.channel collate "C";
