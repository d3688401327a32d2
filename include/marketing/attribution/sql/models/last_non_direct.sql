-- last_non_direct: the last touch whose channel is not in ATTRIBUTION_DIRECT_CHANNELS gets the
-- whole credit; when every touch is direct, the last touch (docs/attribution.md). The path pass
-- (attribution_paths.sql) marks that touch. The credit of one stored path row `p`; null: none.
case when p.last_non_direct then 1.0::double precision end
