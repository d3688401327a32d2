-- A full rebuild's path rows' sums (marts.markov_day_paths, just emptied): the slices' day groups
-- (markov_day_changes; a group may come from both slices) added up. No lookup of stored groups:
-- there are none (sorting a million groups to merge them with nothing cost 4 s).
insert into marts.markov_day_paths (conversion_date, conversion_type, period_start, path_key, channel, campaign,
    path_rows, revenue)
select conversion_date, conversion_type, period_start, path_key, channel, campaign, sum(path_rows)::bigint, sum(revenue)
from markov_day_changes
group by conversion_date, conversion_type, period_start, path_key, channel, campaign
having sum(path_rows) <> 0;
