-- Valid lines of one file version that did not become a core conversion because core held
-- their conversion_id already (from an earlier file, or an earlier line of this file).
select count(*) as rows_skipped
from raw.conversions r
join core.conversions c on c.conversion_id = r.conversion_id
where r.file_id = %(file_id)s
    and (c.file_id, c.line_number) <> (r.file_id, r.line_number);
