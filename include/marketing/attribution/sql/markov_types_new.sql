-- Conversion types whose first conversion the run recomputes (of ATTRIBUTION_CONVERSION_TYPES):
-- they get fits, so every person's non-converting journeys of them are computed; they become
-- the only types of markov_journey_types. Returns how many.
with new_types as (
    select distinct c.conversion_type
    from core.conversions c
    where c.conversion_id = any(array(select conversion_id from attribution_affected))
      and (cardinality(%(conversion_types)s::text[]) = 0 or c.conversion_type = any(%(conversion_types)s::text[]))
      and not exists (select from marts.markov_types k where k.conversion_type = c.conversion_type)
),

journey_types as (
    insert into markov_journey_types (conversion_type)
    select conversion_type from new_types
    returning 1
)

insert into marts.markov_types (conversion_type)
select conversion_type from new_types;
