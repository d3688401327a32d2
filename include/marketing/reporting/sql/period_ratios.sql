-- ROAS and CPA over a period (or any grain wider than a row of marts.roas_daily): ratios of the
-- sums, never averages of daily ratios (docs/contract.md section 4). Without spend in the period
-- there is no ROAS and no cost per acquisition; without attributed conversions, no CPA. The
-- report and the dashboard read them from here. Loaded by the migrations (create or replace):
-- a change to them is a new migration that loads this file.
create or replace function marts.period_roas(attributed_revenue numeric, spend numeric) returns numeric
    language sql immutable parallel safe
    return attributed_revenue / nullif(spend, 0);

create or replace function marts.period_cpa(spend numeric, attributed_conversions double precision) returns numeric
    language sql immutable parallel safe
    return nullif(spend, 0) / nullif(attributed_conversions::numeric, 0);
