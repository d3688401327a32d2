-- A restated touchpoint file: every event_id that its old or new version carries is taken again
-- from the live files, as a clean load of them would (the earliest file wins, then its first
-- line). An event stays while any live file carries it. This reads raw.touchpoints of every
-- live file (a scan), which only a restatement pays. Changed persons are queued.
create temp table restated_keys on commit drop as
select distinct event_id
from raw.touchpoints
where file_id in (%(previous_file_id)s, %(file_id)s);

analyze restated_keys;

with removed as (
    delete from core.touchpoints t
    using restated_keys k
    where t.event_id = k.event_id
    returning t.person_key, t.occurred_at
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'person', person_key, min(occurred_at), %(file_id)s
from removed
group by person_key;

with winners as (
    select distinct on (r.event_id)
        r.event_id,
        r.occurred_at,
        coalesce('u:' || r.user_id, 'u:' || i.user_id, 'a:' || r.anonymous_id) as person_key,
        r.anonymous_id,
        r.user_id,
        r.source,
        r.medium,
        r.campaign,
        r.channel,
        r.file_id,
        r.line_number
    from raw.touchpoints r
    join restated_keys k on k.event_id = r.event_id
    join ops.live_files f on f.file_id = r.file_id
    left join core.identities i on r.user_id is null and i.anonymous_id = r.anonymous_id
    order by r.event_id, f.rank collate "C", r.line_number
),
inserted as (
    insert into core.touchpoints (
        event_id, occurred_at, person_key, anonymous_id, user_id,
        source, medium, campaign, channel, file_id, line_number
    )
    select * from winners
    returning person_key, occurred_at
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'person', person_key, min(occurred_at), %(file_id)s
from inserted
group by person_key;

drop table restated_keys;
