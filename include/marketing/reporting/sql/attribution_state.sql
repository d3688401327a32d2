-- The parameters the marts were computed with, and the run that built them.
select s.params, s.built_at, s.run_id, last_run.finished_at as last_run_at
from ops.attribution_state s
cross join lateral (
    select max(finished_at) as finished_at from ops.attribution_runs
) as last_run;
