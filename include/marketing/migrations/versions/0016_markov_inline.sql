-- The fit's period of a day: its month, its week (from Monday), or one period for `all`. Not
-- strict and with `day` used once, so the planner inlines it (a STRICT function whose body is
-- a CASE is never inlined: CASE is not strict); a null day gives null but under `all`.
create or replace function marts.markov_period(day date, period text) returns date
    language sql immutable parallel safe
    return case period when 'all' then '0001-01-01'::date else date_trunc(period, day::timestamp)::date end;

-- The day after a period (infinity for all). Rarely called; not strict, like markov_period.
create or replace function marts.markov_period_end(period_start date, period text) returns date
    language sql immutable parallel safe
    return case period when 'all' then 'infinity'::date
                       else (period_start + case period when 'week' then interval '7 days' else interval '1 month' end)::date end;

-- A journey's transitions (rule 6): (start) → first channel, a step where the channel changes,
-- last channel → outcome. Not strict, so a set-returning SQL function the planner can inline.
create or replace function marts.markov_steps(channels text[], outcome text)
    returns table (from_state text, to_state text)
    language sql immutable parallel safe
as $$
    select coalesce(channels[i - 1], '(start)'), channels[i]
    from generate_subscripts(channels, 1) as i
    where i = 1 or channels[i] <> channels[i - 1]
    union all
    select channels[cardinality(channels)], outcome
    where cardinality(channels) > 0
$$;
