-- Give every channel a path can hold its digit in the path keys (marts.markov_channels) before
-- the path pass reads them: the channels of every touch (%(all_persons)s), or of the touches of
-- the run's persons from their `since` on (new touches come with a queued person). A new
-- channel takes the next digit; its weight is 10^(12 × digit), an integer.
with seen as (
    select distinct t.channel
    from core.touchpoints t
    where %(all_persons)s
       or (t.person_key = any(array(select person_key from markov_persons))
           and t.occurred_at >= (select m.since from markov_persons m where m.person_key = t.person_key))
),

new_channels as (
    select s.channel, d.next_digit + row_number() over (order by s.channel collate "C") - 1 as digit
    from seen s
    cross join (select coalesce(max(digit) + 1, 0) as next_digit from marts.markov_channels) d
    where not exists (select from marts.markov_channels c where c.channel = s.channel)
)

insert into marts.markov_channels (channel, digit, weight)
select channel, digit, ('1' || repeat('0', 12 * digit::integer))::numeric
from new_channels;
