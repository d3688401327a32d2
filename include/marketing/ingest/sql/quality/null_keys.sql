-- Rows of this run's files that reached core without a key or a person.
select m.path, count(*) as rows
from ops.load_manifest m
join core.touchpoints t on t.file_id = m.file_id
where m.file_id = any(%(file_ids)s)
  and (t.event_id is null or t.occurred_at is null or t.person_key is null)
group by m.path
union all
select m.path, count(*)
from ops.load_manifest m
join core.conversions c on c.file_id = m.file_id
where m.file_id = any(%(file_ids)s)
  and (c.conversion_id is null or c.occurred_at is null or c.person_key is null or c.revenue is null)
group by m.path
union all
select m.path, count(*)
from ops.load_manifest m
join core.ad_spend s on s.file_id = m.file_id
where m.file_id = any(%(file_ids)s)
  and (s.date is null or s.source is null or s.medium is null or s.spend is null)
group by m.path
order by 1;
