-- The data-driven `markov` model (docs/data_driven.md). A fit is one (conversion type, period);
-- `period_start` keys it everywhere below: the first day of the month or week, or 0001-01-01
-- for ATTRIBUTION_MARKOV_PERIOD = all (one fit; marts.markov_removal_effects shows the first
-- day of the data instead).

-- The fit of a day: its period's first day (month, week from Monday, or 0001-01-01 for all).
create function marts.markov_period(day date, period text) returns date
    language sql immutable strict parallel safe
    return case period
        when 'month' then date_trunc('month', day::timestamp)::date
        when 'week' then date_trunc('week', day::timestamp)::date
        else '0001-01-01'::date
    end;

-- The day after a period (infinity for all).
create function marts.markov_period_end(period_start date, period text) returns date
    language sql immutable strict parallel safe
    return case period
        when 'month' then (period_start + interval '1 month')::date
        when 'week' then period_start + 7
        else 'infinity'::date
    end;

-- What the path pass gives each row for the model: the channel of the touch before it on the
-- path (transitions are counted from the rows), the conversion's fit, and the path's channels
-- as a multiset: Σ over its touches of the channel's weight (marts.markov_channels), exact in
-- numeric, so two paths have the same key exactly when they hold the same channels as often.
-- A path with a channel that has no weight yet gets no key from the path pass; the run gives
-- the channel its weight and the path its key before it counts the path (attribution/markov.py).
alter table marts.attribution_paths
    add column previous_channel text collate "C",
    add column markov_period    date,
    add column markov_key       numeric;

-- The transitions of one journey (rule 6): repeats merged, (start) → c1, each ci → ci+1 where
-- the channel changes, and cn → `outcome` ('(conversion)' or '(null)').
create function marts.markov_steps(channels text[], outcome text)
    returns table (from_state text, to_state text)
    language sql immutable strict parallel safe
as $$
    select coalesce(channels[i - 1], '(start)'), channels[i]
    from generate_subscripts(channels, 1) as i
    where i = 1 or channels[i] <> channels[i - 1]
    union all
    select channels[cardinality(channels)], outcome
$$;

-- The conversion types that have fits: those with conversions (ATTRIBUTION_CONVERSION_TYPES).
create table marts.markov_types (
    conversion_type text collate "C" primary key
);

-- Each channel's place in a path key: weight 10^(12 × digit). A path has fewer than 2^31
-- touches (path_length is an integer), so a channel's count never carries into the next digit.
create table marts.markov_channels (
    channel text collate "C" primary key,
    digit   integer not null unique,
    weight  numeric not null
);

-- The non-converting journeys (rule 2): per person, conversion type and period, the channels
-- of the touches on no path of the person's conversions of the type, in order.
create table marts.markov_journeys (
    person_key      text collate "C" not null,
    conversion_type text collate "C" not null,
    period_start    date             not null,
    channels        text[]           not null,
    primary key (person_key, conversion_type, period_start)
);

-- The chain of each fit: how many journeys go from one state to the next ('(start)',
-- a channel, '(conversion)', '(null)'), converting and non-converting together.
create table marts.markov_transitions (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    from_state      text collate "C" not null,
    to_state        text collate "C" not null,
    journeys        bigint           not null,
    primary key (conversion_type, period_start, from_state, to_state)
);

-- The distinct paths (as channel multisets) of each fit's converting journeys.
create table marts.markov_paths (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    path_key        numeric          not null,
    conversions     bigint           not null,
    primary key (conversion_type, period_start, path_key)
);

-- The credit of a touch of `channel` on a path of `path_key` in a fit: RE(channel) / Σ RE over
-- the path's touches, or 1 / n when that sum is 0 (rule 9). The model's rule joins it.
create table marts.markov_credits (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    path_key        numeric          not null,
    channel         text collate "C" not null,
    credit          double precision not null,
    primary key (conversion_type, period_start, path_key, channel)
);

-- The fits for people to read (docs/data_driven.md, §4). A fit with no converting journey has
-- no removal effects, so no rows. `period_start`: the first day of the period (all: of the
-- data); `fit_start` is the key the other tables use (= period_start, or 0001-01-01 for all).
create table marts.markov_removal_effects (
    period_start           date             not null,
    conversion_type        text collate "C" not null,
    channel                text collate "C" not null,
    removal_effect         double precision not null check (removal_effect between 0 and 1),
    share                  double precision not null,
    converting_journeys    bigint           not null,
    null_journeys          bigint           not null,
    conversion_probability double precision not null,
    fit_start              date             not null,
    primary key (conversion_type, fit_start, channel)
);

delete from ops.attribution_state;
