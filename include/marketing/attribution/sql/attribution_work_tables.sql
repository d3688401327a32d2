-- The temp tables of one run (dropped when it commits):
-- - attribution_affected: the conversions whose path rows the run replaces;
-- - attribution_spend_dates: the days whose spend it restates in roas_daily;
-- - attribution_changes: the sums of the credit rows it removed (negated) and inserted, by
--   grain, which the daily marts add up (attribution_changes.sql).
create temp table attribution_affected (conversion_id text primary key) on commit drop;
create temp table attribution_spend_dates (date date primary key) on commit drop;
create temp table attribution_changes (
    date            date             not null,
    model           text collate "C" not null,
    channel         text collate "C" not null,
    campaign        text collate "C",
    conversion_type text collate "C" not null,
    conversions     double precision not null,
    revenue         numeric          not null,
    credit_rows     bigint           not null
) on commit drop;
