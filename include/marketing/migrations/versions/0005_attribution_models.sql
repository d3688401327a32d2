-- The models the marts were built with (docs/attribution.md, "Models"): null until the next full
-- rebuild, so the first run after this migration rebuilds the marts and the credits view.
alter table ops.attribution_state add column models_digest text;
