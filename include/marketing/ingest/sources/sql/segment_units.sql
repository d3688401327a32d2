-- The Segment devices one file version can change: every device its page and screen calls
-- name, and on a restatement those its earlier versions named. A device's sessions are formed
-- again as a whole: a late call can join or split its sessions anywhere.
create temp table affected on commit drop as
select distinct r.device_id
from ops.load_manifest m
join raw.segment r on r.file_id = m.file_id
where m.path = %(path)s and r.type in ('page', 'screen');

analyze affected;

-- The touchpoints those devices' sessions have now.
create temp table previous_sessions on commit drop as
select s.event_id
from affected a
join core.sessions s on s.source = 'segment' and s.device_id = a.device_id;
