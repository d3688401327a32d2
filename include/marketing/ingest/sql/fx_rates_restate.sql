-- A restated rates file needs nothing removed first: its rows restate (date, currency) keys
-- in fx_rates.sql, and a rate is never deleted because loaded amounts depend on it.
select 1;
