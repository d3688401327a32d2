-- Replace the touchpoints of re-formed sessions (`formed`, for the sessions that were
-- `previous_sessions`): a session whose touch is unchanged stays as it is; one that changed,
-- appeared or went away is deleted and/or inserted, and its person is queued for attribution
-- from the earliest changed touch on, as a native late touch is.
create temp table formed_touch on commit drop as
select f.*, coalesce('u:' || f.user_id, 'u:' || i.user_id, 'a:' || f.anonymous_id) as person_key
from formed f
left join core.identities i on f.user_id is null and i.anonymous_id = f.anonymous_id;

analyze formed_touch;

create temp table stale on commit drop as
select t.event_id, t.person_key, t.occurred_at
from previous_sessions p
join core.touchpoints t using (event_id)
where not exists (
    select 1
    from formed_touch f
    where f.event_id = t.event_id
      and (f.occurred_at, f.person_key, f.anonymous_id, f.user_id, f.source, f.medium, f.campaign, f.channel)
          is not distinct from
          (t.occurred_at, t.person_key, t.anonymous_id, t.user_id, t.source, t.medium, t.campaign, t.channel)
);

delete from core.touchpoints t
using stale s
where t.event_id = s.event_id;

delete from core.sessions s
using previous_sessions p
where s.event_id = p.event_id;

insert into core.sessions (source, device_id, event_id, started_at, events)
select %(source)s, device_id, event_id, occurred_at, events
from formed
on conflict (event_id) do nothing;

with inserted as (
    insert into core.touchpoints (
        event_id, occurred_at, person_key, anonymous_id, user_id,
        source, medium, campaign, channel, file_id, line_number
    )
    select event_id, occurred_at, person_key, anonymous_id, user_id,
        source, medium, campaign, channel, file_id, line_number
    from formed_touch
    order by event_id
    on conflict (event_id) do nothing
    returning person_key, occurred_at
),
changed as (
    select person_key, occurred_at from inserted
    union all
    select person_key, occurred_at from stale
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'person', person_key, min(occurred_at), %(file_id)s
from changed
group by person_key;
