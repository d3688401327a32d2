-- The newest file of each feed that loaded rows (a wholly quarantined file is not "loaded").
select distinct on (feed)
    feed,
    path,
    loaded_at,
    rows_loaded,
    rows_quarantined
from ops.load_manifest
where rows_loaded > 0
order by feed, loaded_at desc, file_id desc
