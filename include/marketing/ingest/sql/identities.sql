-- Identity links carried by one file version of %(feed)s, touchpoints or conversions (docs/contract.md,
-- "People"). For each anonymous_id the earliest event that carried both ids wins; ties are broken
-- by the event's id. The branch of the other feed is dropped when the statement is planned.
create temp table links on commit drop as
select distinct on (anonymous_id)
    anonymous_id, user_id, occurred_at as linked_at, link_event
from (
    select anonymous_id, user_id, occurred_at, event_id as link_event
    from raw.touchpoints
    where %(feed)s = 'touchpoints' and file_id = %(file_id)s
    union all
    select anonymous_id, user_id, occurred_at, conversion_id
    from raw.conversions
    where %(feed)s = 'conversions' and file_id = %(file_id)s
) as events
where anonymous_id is not null and user_id is not null
order by anonymous_id, occurred_at, link_event;

-- The file's rows are too new for the table statistics: without real counts the planner
-- picks nested loops that grow with the square of the file.
analyze links;

-- Devices whose user changes: first links, and earlier links that name another user.
create temp table relinked on commit drop as
select links.anonymous_id, known.user_id as old_user_id, links.user_id
from links
left join core.identities known using (anonymous_id)
where known.anonymous_id is null
   or ((links.linked_at, links.link_event) < (known.linked_at, known.link_event)
       and links.user_id <> known.user_id);

analyze relinked;

insert into core.identities as i (anonymous_id, user_id, linked_at, link_event, file_id)
select anonymous_id, user_id, linked_at, link_event, %(file_id)s
from links
on conflict (anonymous_id) do update
    set user_id = excluded.user_id,
        linked_at = excluded.linked_at,
        link_event = excluded.link_event,
        file_id = excluded.file_id
    where (excluded.linked_at, excluded.link_event) < (i.linked_at, i.link_event);

-- Events of a newly linked device that carry no user_id now belong to the linked user. They
-- are found through the person index: until now their key was the device's or the old user's.
update core.touchpoints t
set person_key = 'u:' || r.user_id
from relinked r
where t.person_key in ('a:' || r.anonymous_id, 'u:' || r.old_user_id)
  and t.anonymous_id = r.anonymous_id
  and t.user_id is null;

update core.conversions c
set person_key = 'u:' || r.user_id
from relinked r
where c.person_key in ('a:' || r.anonymous_id, 'u:' || r.old_user_id)
  and c.anonymous_id = r.anonymous_id
  and c.user_id is null;

-- Every person who lost or gained touches gets all conversions recomputed.
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'person', person_key, null::timestamptz, %(file_id)s
from relinked
cross join lateral (
    values ('a:' || anonymous_id), ('u:' || user_id), ('u:' || old_user_id)
) as keys (person_key)
where person_key is not null;
