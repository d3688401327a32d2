-- The touchpoint index carries the columns of a path (docs/attribution.md, "The path of a conversion"),
-- so the touches of a conversion are read from the index alone: one index range per
-- conversion instead of one table page per touch. It replaces the plain (person_key,
-- occurred_at) index, whose lookups it serves as well.
create index touchpoints_person_path on core.touchpoints (person_key, occurred_at)
    include (event_id, channel, campaign);
drop index core.touchpoints_person;
