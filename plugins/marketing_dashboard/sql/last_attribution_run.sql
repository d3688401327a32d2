-- The newest attribution run.
select
    run_id,
    mode,
    reason,
    started_at,
    finished_at,
    conversions_recomputed
from ops.attribution_runs
order by run_id desc
limit 1
