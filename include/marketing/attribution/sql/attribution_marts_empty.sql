-- True when the marts are empty although core has something to attribute or spend to show
-- (e.g. someone truncated them): the run then rebuilds everything.
select
    (not exists (select from marts.attribution_paths)
     and exists (select from core.conversions
                 where cardinality(%(conversion_types)s::text[]) = 0
                    or conversion_type = any(%(conversion_types)s::text[])))
    or (not exists (select from marts.roas_daily) and exists (select from core.ad_spend))
