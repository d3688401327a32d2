-- The converting journeys of the path rows in markov_changed_paths (a temp view or table the
-- caller makes), times %(sign)s (1: rows added, -1: rows removed): their transitions (rule 6:
-- (start) → first channel, one step where the channel changes, last channel → (conversion)),
-- their paths' keys, and the days of their conversions (whose `markov` rows are restated).
insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select p.conversion_type, p.markov_period, s.from_state, s.to_state, %(sign)s * count(*)
from markov_changed_paths p
cross join lateral (
    values
        ('(start)'::text, case when p.touch_position = 1 then p.channel end),
        (p.previous_channel, case when p.touch_position > 1 and p.previous_channel <> p.channel then p.channel end),
        (p.channel, case when p.touch_position = p.path_length then '(conversion)' end)
) as s (from_state, to_state)
where p.touchpoint_event_id is not null
  and s.to_state is not null
group by p.conversion_type, p.markov_period, s.from_state, s.to_state;

insert into markov_path_changes (conversion_type, period_start, path_key, conversions)
select p.conversion_type, p.markov_period, p.markov_key, %(sign)s * count(*)
from markov_changed_paths p
where p.touch_position = 1
group by p.conversion_type, p.markov_period, p.markov_key;

insert into markov_dates (date)
select distinct p.conversion_date
from markov_changed_paths p
where not %(all_dates)s
on conflict do nothing;
