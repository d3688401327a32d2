-- Are the marts as new as the loads? They are older when changes wait in the attribution queue,
-- or when a file loaded rows after the last attribution run started. Also the parameters the
-- marts were computed with (null before the first run).
select
    (select params from ops.attribution_state) as params,
    (select max(loaded_at) from ops.load_manifest where rows_loaded > 0) as last_load_at,
    (select max(started_at) from ops.attribution_runs) as last_run_started_at,
    exists (select 1 from ops.attribution_queue) as changes_queued
