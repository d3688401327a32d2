-- last_touch: the last eligible touch before the conversion gets the whole credit
-- (docs/attribution.md). The credit of one stored path row `p`; null: no credit.
case when coalesce(p.touch_position, 1) = p.path_length then 1.0::double precision end
