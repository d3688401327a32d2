-- The newest customers run: when, on what data, and the fitted parameters (or why none).
select run_id, started_at, finished_at, as_of, customers, fit
from ops.customer_runs
order by run_id desc
limit 1;
