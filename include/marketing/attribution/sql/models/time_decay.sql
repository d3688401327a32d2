-- time_decay: a touch's weight halves every ATTRIBUTION_HALF_LIFE_DAYS before the conversion,
-- and the weights are shared out to sum to 1 (docs/attribution.md). The path pass
-- (attribution_paths.sql) computes the share, because it needs the sum over the whole path.
-- The credit of one stored path row `p`; null: no credit (a weight that underflowed to 0).
nullif(p.time_decay_credit, 0)
