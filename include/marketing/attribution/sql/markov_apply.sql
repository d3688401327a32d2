-- Add the run's changes to the fits' transition counts and paths, and to the path rows' sums of
-- marts.markov_day_paths; a count that reaches 0 goes.
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

-- The groups that reach 0 path rows are noted as they are updated, then deleted by their key.
create temp table markov_day_emptied on commit drop as
select conversion_date, conversion_type, period_start, path_key, channel, campaign
from marts.markov_day_paths
limit 0;

with changed as (
    insert into marts.markov_day_paths as t (conversion_date, conversion_type, period_start, path_key, channel,
        campaign, path_rows, revenue)
    select conversion_date, conversion_type, period_start, path_key, channel, campaign, sum(path_rows), sum(revenue)
    from markov_day_changes
    group by conversion_date, conversion_type, period_start, path_key, channel, campaign
    having sum(path_rows) <> 0 or sum(revenue) <> 0  -- rows removed and put back as they were: no change
    on conflict (conversion_date, conversion_type, period_start, coalesce(path_key, 0), channel, coalesce(campaign, ''))
        do update set path_rows = t.path_rows + excluded.path_rows, revenue = t.revenue + excluded.revenue
    returning t.conversion_date, t.conversion_type, t.period_start, t.path_key, t.channel, t.campaign, t.path_rows
)
insert into markov_day_emptied
select conversion_date, conversion_type, period_start, path_key, channel, campaign
from changed
where path_rows = 0;
analyze markov_day_emptied;  -- a few rows: the delete looks each up by the table's key

delete from marts.markov_day_paths t
using markov_day_emptied e
where t.conversion_date = e.conversion_date
  and t.conversion_type = e.conversion_type
  and t.period_start = e.period_start
  and coalesce(t.path_key, 0) = coalesce(e.path_key, 0)
  and t.channel = e.channel
  and coalesce(t.campaign, '') = coalesce(e.campaign, '')
  and t.path_rows = 0;

drop table markov_day_emptied;
