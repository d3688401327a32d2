-- The converting journeys of the path rows in markov_changed_paths (a temp view or table the
-- caller makes), times %(sign)s (1: rows added, -1: rows removed): their transitions (rule 6:
-- (start) → first channel, one step where the channel changes, last channel → (conversion)),
-- their paths' keys, the rows summed as marts.markov_day_paths sums them (migration 0015), and
-- the days of their conversions (whose `markov` rows are restated).
-- The rows are first counted by what decides their transitions (a few hundred groups), then
-- those groups give the transitions.
with steps as (
    select
        p.conversion_type,
        p.markov_period,
        p.previous_channel,
        p.channel,
        p.touch_position = 1 as first,
        p.touch_position = p.path_length as last,
        count(*) as rows
    from markov_changed_paths p
    where p.touchpoint_event_id is not null
    group by 1, 2, 3, 4, 5, 6
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select g.conversion_type, g.markov_period, s.from_state, s.to_state, %(sign)s * sum(g.rows)
from steps g
cross join lateral (
    values
        ('(start)'::text, case when g.first then g.channel end),
        (g.previous_channel, case when not g.first and g.previous_channel <> g.channel then g.channel end),
        (g.channel, case when g.last then '(conversion)' end)
) as s (from_state, to_state)
where s.to_state is not null
group by g.conversion_type, g.markov_period, s.from_state, s.to_state;

insert into markov_path_changes (conversion_type, period_start, path_key, conversions)
select p.conversion_type, p.markov_period, p.markov_key, %(sign)s * count(*)
from markov_changed_paths p
where p.touch_position = 1
group by p.conversion_type, p.markov_period, p.markov_key;

-- The rows by day, fit, path key, channel and campaign: what their markov credit and the daily
-- marts' groups depend on (marts.markov_day_paths gets them in markov_day_apply.sql; in a full
-- rebuild, markov_day_rebuild.sql). A touched row without a key gets no credit and is left out;
-- a conversion without an eligible touch (no key: credit 1) is in.
insert into markov_day_changes (conversion_date, conversion_type, period_start, path_key, channel, campaign,
    path_rows, revenue)
select p.conversion_date, p.conversion_type, p.markov_period, p.markov_key, p.channel, p.campaign,
    %(sign)s * count(*), %(sign)s * sum(p.revenue)
from markov_changed_paths p
where p.touchpoint_event_id is null or p.markov_key is not null
group by p.conversion_date, p.conversion_type, p.markov_period, p.markov_key, p.channel, p.campaign;

insert into markov_dates (date)
select distinct p.conversion_date
from markov_changed_paths p
where not %(all_dates)s
on conflict do nothing;
