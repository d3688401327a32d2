-- Files of this run whose lines were quarantined, with the run's overall rate.
-- An unreadable file counts as one line, fully quarantined.
with files as (
    select path, greatest(rows_total, rows_quarantined) as lines, rows_quarantined
    from ops.load_manifest
    where file_id = any(%(file_ids)s)
)
select path, lines, rows_quarantined,
    sum(rows_quarantined) over () :: float8 / nullif(sum(lines) over (), 0) as run_rate
from files
where rows_quarantined > 0
order by rows_quarantined desc, path;
