-- Add the run's changes to the fits' transition counts and paths; a count that reaches 0 goes.
-- (The path rows' sums of marts.markov_day_paths: markov_day_apply.sql, or markov_day_rebuild.sql.)
insert into marts.markov_transitions as t (conversion_type, period_start, from_state, to_state, journeys)
select conversion_type, period_start, from_state, to_state, sum(journeys)
from markov_changes
group by conversion_type, period_start, from_state, to_state
on conflict (conversion_type, period_start, from_state, to_state)
    do update set journeys = t.journeys + excluded.journeys;

delete from marts.markov_transitions t
using (select distinct conversion_type, period_start from markov_changes) f
where t.conversion_type = f.conversion_type and t.period_start = f.period_start and t.journeys = 0;

insert into marts.markov_paths as t (conversion_type, period_start, path_key, conversions)
select conversion_type, period_start, path_key, sum(conversions)
from markov_path_changes
group by conversion_type, period_start, path_key
on conflict (conversion_type, period_start, path_key)
    do update set conversions = t.conversions + excluded.conversions;

delete from marts.markov_paths t
using (select distinct conversion_type, period_start from markov_path_changes) f
where t.conversion_type = f.conversion_type and t.period_start = f.period_start and t.conversions = 0;
