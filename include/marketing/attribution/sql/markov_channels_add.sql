-- Give new channels (%(channels)s) the next digits of the path keys: weight 10^(12 × digit), an
-- integer. Committed before the path pass (markov.py says why); a channel given a digit stays.
with new_channels as (
    select c.channel, d.next_digit + c.n - 1 as digit
    from unnest(%(channels)s::text[]) with ordinality as c (channel, n)
    cross join (select coalesce(max(digit) + 1, 0) as next_digit from marts.markov_channels) d
    where not exists (select from marts.markov_channels m where m.channel = c.channel)
)

insert into marts.markov_channels (channel, digit, weight)
select channel, digit, ('1' || repeat('0', 12 * digit::integer))::numeric
from new_channels
on conflict do nothing;
