-- Files of this run whose lines were quarantined, with the run's overall rate: the bad lines
-- over all the lines of the run's files (contract 1.5), not over the files that had bad lines.
-- An unreadable file counts as one line, fully quarantined.
with files as (
    select path, greatest(rows_total, rows_quarantined) as lines, rows_quarantined
    from ops.load_manifest
    where file_id = any(%(file_ids)s)
),
run as (
    select sum(rows_quarantined)::float8 / nullif(sum(lines), 0) as run_rate
    from files
)
select files.path, files.lines, files.rows_quarantined, run.run_rate
from files
cross join run
where files.rows_quarantined > 0
order by files.rows_quarantined desc, files.path;
