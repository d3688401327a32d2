-- Files of this run holding events dated further in the future than the tolerance.
with horizon as (select now() + make_interval(secs => %(max_future_seconds)s) as limit_at)
select m.path, count(*) as rows, max(r.occurred_at) as latest
from raw.touchpoints r
join ops.load_manifest m on m.file_id = r.file_id
cross join horizon
where r.file_id = any(%(file_ids)s) and r.occurred_at > horizon.limit_at
group by m.path
union all
select m.path, count(*), max(r.occurred_at)
from raw.conversions r
join ops.load_manifest m on m.file_id = r.file_id
cross join horizon
where r.file_id = any(%(file_ids)s) and r.occurred_at > horizon.limit_at
group by m.path
union all
select m.path, count(*), max(r.occurred_at)
from raw.ga4 r
join ops.load_manifest m on m.file_id = r.file_id
cross join horizon
where r.file_id = any(%(file_ids)s) and r.occurred_at > horizon.limit_at
group by m.path
union all
select m.path, count(*), max(r.occurred_at)
from raw.segment r
join ops.load_manifest m on m.file_id = r.file_id
cross join horizon
where r.file_id = any(%(file_ids)s) and r.occurred_at > horizon.limit_at
group by m.path
order by 1;
