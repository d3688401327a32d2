-- Conversions in core that a new file beats: the same conversion_id, loaded from a file that
-- ranks after it (the earliest live file wins, then its first line). They leave core, queued,
-- before conversions.sql puts the file's rows in. Only run when some live file ranks after it.
with incoming as (
    select distinct on (conversion_id) conversion_id, line_number
    from raw.conversions
    where file_id = %(file_id)s
    order by conversion_id, line_number
),
beaten as (
    delete from core.conversions c
    using incoming i, ops.live_files f
    where c.conversion_id = i.conversion_id
      and f.file_id = c.file_id
      and (f.rank collate "C", c.line_number) > (%(rank)s collate "C", i.line_number)
    returning c.conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from beaten;
