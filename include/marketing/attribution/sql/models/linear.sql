-- linear: every eligible touch of the path gets an equal share, 1 / n (docs/attribution.md).
-- The credit of one stored path row `p`.
1.0::double precision / p.path_length
