-- Valid lines of one file version that did not become a core touchpoint because core held
-- their event_id already (from an earlier file, or an earlier line of this file).
select count(*) as rows_skipped
from raw.touchpoints r
join core.touchpoints c on c.event_id = r.event_id
where r.file_id = %(file_id)s
    and (c.file_id, c.line_number) <> (r.file_id, r.line_number);
