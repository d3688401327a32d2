-- first_touch: the first eligible touch of the path gets the whole credit (docs/attribution.md).
-- A conversion without an eligible touch has one row, position 1 of 1, credited to the
-- unattributed label. The credit of one stored path row `p`; null: no credit.
case when coalesce(p.touch_position, 1) = 1 then 1.0::double precision end
