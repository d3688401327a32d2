-- The newest loaded file of each feed.
select distinct on (feed)
    feed,
    path,
    loaded_at,
    rows_loaded,
    rows_quarantined
from ops.load_manifest
order by feed, loaded_at desc, file_id desc
