-- Ids that this run's files brought in and that core holds more than once.
with touched as (
    select 'touchpoints' as feed, r.event_id as id, m.path
    from raw.touchpoints r
    join ops.load_manifest m on m.file_id = r.file_id
    where r.file_id = any(%(file_ids)s)
    union all
    select 'conversions', r.conversion_id, m.path
    from raw.conversions r
    join ops.load_manifest m on m.file_id = r.file_id
    where r.file_id = any(%(file_ids)s)
),
counted as (
    select t.feed, t.id, t.path,
        case t.feed
            when 'touchpoints' then (select count(*) from core.touchpoints c where c.event_id = t.id)
            else (select count(*) from core.conversions c where c.conversion_id = t.id)
        end as copies
    from touched t
)
select path, count(distinct id) as ids
from counted
where copies > 1
group by path
order by path;
