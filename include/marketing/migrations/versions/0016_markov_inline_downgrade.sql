-- The functions as 0014 made them (strict, not inlined).
create or replace function marts.markov_period(day date, period text) returns date
    language sql immutable strict parallel safe
    return case period
        when 'month' then date_trunc('month', day::timestamp)::date
        when 'week' then date_trunc('week', day::timestamp)::date
        else '0001-01-01'::date
    end;

create or replace function marts.markov_period_end(period_start date, period text) returns date
    language sql immutable strict parallel safe
    return case period
        when 'month' then (period_start + interval '1 month')::date
        when 'week' then period_start + 7
        else 'infinity'::date
    end;

create or replace function marts.markov_steps(channels text[], outcome text)
    returns table (from_state text, to_state text)
    language sql immutable strict parallel safe
as $$
    select coalesce(channels[i - 1], '(start)'), channels[i]
    from generate_subscripts(channels, 1) as i
    where i = 1 or channels[i] <> channels[i - 1]
    union all
    select channels[cardinality(channels)], outcome
$$;
