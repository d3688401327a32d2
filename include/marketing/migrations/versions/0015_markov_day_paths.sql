-- The path rows of marts.attribution_paths summed for the `markov` rows of the daily marts
-- (docs/data_driven.md, "What it costs"): by what a row's markov credit depends on (its
-- conversion's type and fit, its path's key, its channel; no key: a conversion without an
-- eligible touch, credit 1) and what the marts group by (the day, channel, campaign, type).
-- A run restates a fit's days from these groups joined to marts.markov_credits rather than
-- from every path row: Σ credit = credit × path_rows, credit_rows = path_rows where the credit
-- is not null, and Σ revenue_credit(revenue, credit) = revenue_credit(Σ revenue, credit)
-- exactly (revenue_credit is revenue × an integer × 1e-18 in numeric: exact products and sums).
-- Every run keeps it in its transaction where it keeps the fits (attribution/markov.py).
-- A touched row without a key (a run without markov) gets no markov credit and is left out.
create table marts.markov_day_paths (
    conversion_date date             not null,
    conversion_type text collate "C" not null,
    period_start    date             not null, -- the rows' markov_period: their fit
    path_key        numeric,                   -- the rows' markov_key; null: no eligible touch
    channel         text collate "C" not null,
    campaign        text collate "C",
    path_rows       bigint           not null, -- > 0 (a group that reaches 0 goes; no check: an upsert checks its proposed row)
    revenue         numeric          not null  -- Σ of the rows' (conversions') revenue
);
-- A run finds the groups of the days it changes (markov_apply.sql) or restates (its fits' days)
-- by day; the rest of a group's key is matched in a join. A group is one row by construction
-- (the runs add their changes to the row of the same key), so no unique index: on a million
-- groups of a full rebuild, that index (its numeric path keys average 46 bytes) cost 20 s.
create index markov_day_paths_date on marts.markov_day_paths (conversion_date);

delete from ops.attribution_state;
