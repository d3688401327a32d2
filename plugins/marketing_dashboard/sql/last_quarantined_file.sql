-- The newest file that loaded nothing because every line (or the whole file) was quarantined.
select feed, path, loaded_at, rows_total, rows_quarantined
from ops.load_manifest
where rows_loaded = 0 and rows_quarantined > 0
order by loaded_at desc, file_id desc
limit 1
