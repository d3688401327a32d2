-- position_based: the first and the last touch get their ATTRIBUTION_POSITION_WEIGHTS, the touches
-- between share the middle weight; two touches split the middle weight in halves
-- (docs/attribution.md). The path pass (attribution_paths.sql) computes the share, because it
-- needs the path's length. The credit of one stored path row `p`; null: no credit.
nullif(p.position_credit, 0)
