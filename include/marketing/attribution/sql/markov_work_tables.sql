-- The temp tables of a run's `markov` fits (dropped when it commits; markov.py):
-- - markov_persons: whose non-converting journeys the run recomputes, from the period of `since` on;
-- - markov_journey_types: for which conversion types;
-- - markov_changes, markov_path_changes: the journeys' transitions and converting paths the run
--   removed (negative) and added, by fit: the fits to redo, and what to add to their counts;
-- - markov_day_changes: the path rows the run removed (negative) and added, summed as
--   marts.markov_day_paths sums them: what to add to it;
-- - markov_dates: the days whose `markov` rows of the daily marts the run restates;
-- - markov_journeys_new: the non-converting journeys the run computed (markov_journeys.sql),
--   shaped like marts.markov_journeys, which gets them from here.
-- A full rebuild's slice session has them too (markov.SLICE_SUMS): its slice's journeys, changes,
-- path changes and day changes come back into the run's tables.
create temp table markov_persons (
    person_key text primary key,  -- the collation of core's person keys, so their indexes serve
    since      timestamptz not null
) on commit drop;
create temp table markov_journey_types (conversion_type text collate "C" primary key) on commit drop;
create temp table markov_changes (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    from_state      text collate "C" not null,
    to_state        text collate "C" not null,
    journeys        bigint           not null
) on commit drop;
create temp table markov_path_changes (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    path_key        numeric          not null,
    conversions     bigint           not null
) on commit drop;
create temp table markov_day_changes (
    conversion_date date             not null,
    conversion_type text collate "C" not null,
    period_start    date             not null,
    path_key        numeric,
    channel         text collate "C" not null,
    campaign        text collate "C",
    path_rows       bigint           not null,
    revenue         numeric          not null
) on commit drop;
create temp table markov_dates (date date primary key) on commit drop;
create temp table markov_journeys_new (
    person_key      text collate "C" not null,
    conversion_type text collate "C" not null,
    period_start    date             not null,
    channels        text[]           not null,
    touched_at      timestamptz[]    not null
) on commit drop;
