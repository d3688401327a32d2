-- What the marts now hold results for, after a full rebuild: the parameters and the models
-- (a run that finds others rebuilds everything, so old and new results never mix).
insert into ops.attribution_state (singleton, params, params_digest, models_digest, run_id, built_at)
values (true, %(params)s, %(params_digest)s, %(models_digest)s, %(run_id)s, now())
on conflict (singleton) do update
    set params = excluded.params,
        params_digest = excluded.params_digest,
        models_digest = excluded.models_digest,
        run_id = excluded.run_id,
        built_at = excluded.built_at
