-- A restated spend file replaces what its earlier versions loaded: keys it no longer carries
-- leave core (their days queued); the keys it carries are upserted after this.
with removed as (
    delete from core.ad_spend s
    using ops.load_manifest m
    where m.path = %(path)s and m.file_id <> %(file_id)s and s.file_id = m.file_id
    returning s.date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from removed;
