-- A restated conversion file replaces what its earlier versions loaded (e.g. corrected
-- revenue): their rows leave core, queued so that their credits go too, before the new
-- version is merged.
with removed as (
    delete from core.conversions c
    using ops.load_manifest m
    where m.path = %(path)s and m.file_id <> %(file_id)s and c.file_id = m.file_id
    returning c.conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from removed;
