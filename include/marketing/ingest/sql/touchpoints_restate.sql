-- A restated touchpoint file replaces what its earlier versions loaded: their rows leave core
-- (and their persons are queued) before the new version is merged.
with removed as (
    delete from core.touchpoints t
    using ops.load_manifest m
    where m.path = %(path)s and m.file_id <> %(file_id)s and t.file_id = m.file_id
    returning t.person_key, t.occurred_at
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'person', person_key, min(occurred_at), %(file_id)s
from removed
group by person_key;
