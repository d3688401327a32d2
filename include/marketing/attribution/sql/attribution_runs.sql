-- One row per run in ops.attribution_runs, with the parameters it ran with.
insert into ops.attribution_runs (
    started_at, finished_at, mode, reason, params, params_digest,
    conversions_recomputed, dates_recomputed, queue_items
)
values (
    now(), clock_timestamp(), %(mode)s, %(reason)s, %(params)s, %(params_digest)s,
    %(conversions_recomputed)s, %(dates_recomputed)s, %(queue_items)s
)
returning run_id
