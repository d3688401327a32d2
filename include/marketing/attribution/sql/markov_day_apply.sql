-- Add the run's changes to the path rows' sums of marts.markov_day_paths (an incremental or range
-- run; a full rebuild writes them whole: markov_day_rebuild.sql).
-- The path rows' sums: each changed group is looked up once among the stored groups of the
-- changed days (markov_day_net notes what it holds: a new day has none), then those that reach
-- 0 rows go, the others are updated, and the new ones are inserted (plain inserts: an upsert's
-- speculative insertion cost 3× as much on the bench, and sorting them first more than it saved).
-- Rows removed and put back as they were change nothing and are left out.
analyze markov_day_changes;
create temp table markov_day_net on commit drop as
select c.*, t.path_rows as stored_rows
from (
    select conversion_date, conversion_type, period_start, path_key, channel, campaign,
        sum(path_rows)::bigint as path_rows, sum(revenue) as revenue
    from markov_day_changes
    group by conversion_date, conversion_type, period_start, path_key, channel, campaign
    having sum(path_rows) <> 0 or sum(revenue) <> 0
) as c
left join (
    select * from marts.markov_day_paths
    where conversion_date = any(array(select distinct conversion_date from markov_day_changes))
) as t
    on t.conversion_date = c.conversion_date
    and t.conversion_type = c.conversion_type
    and t.period_start = c.period_start
    and coalesce(t.path_key, 0) = coalesce(c.path_key, 0)
    and t.channel = c.channel
    and coalesce(t.campaign, '') = coalesce(c.campaign, '');
analyze markov_day_net;

-- Both look up the stored groups of the days that have any (by the day's index): on the usual
-- day, whose groups are all new, the planner took `stored_rows + path_rows <> 0` for most of
-- them and sorted every stored group to merge them (39 s on 120 days of history).
delete from marts.markov_day_paths t
using markov_day_net n
where n.stored_rows is not null and n.stored_rows + n.path_rows = 0
  and t.conversion_date = any(array(select distinct conversion_date from markov_day_net where stored_rows is not null))
  and t.conversion_date = n.conversion_date
  and t.conversion_type = n.conversion_type
  and t.period_start = n.period_start
  and coalesce(t.path_key, 0) = coalesce(n.path_key, 0)
  and t.channel = n.channel
  and coalesce(t.campaign, '') = coalesce(n.campaign, '');

update marts.markov_day_paths t
set path_rows = t.path_rows + n.path_rows, revenue = t.revenue + n.revenue
from markov_day_net n
where n.stored_rows is not null and n.stored_rows + n.path_rows <> 0
  and t.conversion_date = any(array(select distinct conversion_date from markov_day_net where stored_rows is not null))
  and t.conversion_date = n.conversion_date
  and t.conversion_type = n.conversion_type
  and t.period_start = n.period_start
  and coalesce(t.path_key, 0) = coalesce(n.path_key, 0)
  and t.channel = n.channel
  and coalesce(t.campaign, '') = coalesce(n.campaign, '');

insert into marts.markov_day_paths (conversion_date, conversion_type, period_start, path_key, channel, campaign,
    path_rows, revenue)
select conversion_date, conversion_type, period_start, path_key, channel, campaign, path_rows, revenue
from markov_day_net
where stored_rows is null;

drop table markov_day_net;
