-- The newest customers run: when, on what data, with which settings, and the fitted parameters (or why none).
select run_id, started_at, finished_at, as_of, customers, params, fit
from ops.customer_runs
order by run_id desc
limit 1;
