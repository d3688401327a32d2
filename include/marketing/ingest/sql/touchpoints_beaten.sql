-- Touchpoints in core that a new file beats: the same event_id, loaded from a file that ranks
-- after it (README, The landing zone: the earliest live file wins, then its first line). They
-- leave core, their persons queued, before touchpoints.sql puts the file's rows in. Only run
-- when some live file ranks after the new one (a late file, or a name that sorts earlier).
with incoming as (
    select distinct on (event_id) event_id, line_number
    from raw.touchpoints
    where file_id = %(file_id)s
    order by event_id, line_number
),
beaten as (
    delete from core.touchpoints t
    using incoming i, ops.live_files f
    where t.event_id = i.event_id
      and f.file_id = t.file_id
      and (f.rank collate "C", t.line_number) > (%(rank)s collate "C", i.line_number)
    returning t.person_key, t.occurred_at
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'person', person_key, min(occurred_at), %(file_id)s
from beaten
group by person_key;
