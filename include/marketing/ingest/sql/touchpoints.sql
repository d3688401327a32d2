-- Merge one new file's touchpoints into core: one row per event_id. Rows the file beats were
-- removed by touchpoints_beaten.sql; a key still held comes from a file that ranks before this
-- one and stays (within the file, its first line wins). Persons whose paths got new touches
-- are queued for attribution from their earliest new touch on. Rows go in event_id order,
-- which keeps the primary-key inserts local in the index.
with incoming as (
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
    left join core.identities i on r.user_id is null and i.anonymous_id = r.anonymous_id
    where r.file_id = %(file_id)s
    order by r.event_id, r.line_number
),
inserted as (
    insert into core.touchpoints (
        event_id, occurred_at, person_key, anonymous_id, user_id,
        source, medium, campaign, channel, file_id, line_number
    )
    select * from incoming
    on conflict (event_id) do nothing
    returning person_key, occurred_at
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'person', person_key, min(occurred_at), %(file_id)s
from inserted
group by person_key;
