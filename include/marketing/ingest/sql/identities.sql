-- Identity links carried by a new file of %(feed)s, touchpoints or conversions (README, People).
-- A device's link is the earliest line of any live file that carries both ids; ties are broken
-- by the event's id, then the user_id. identities_rekey.sql then moves the device's events. The
-- branch of the other feed is dropped when the statement is planned.
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
order by anonymous_id, occurred_at, link_event, user_id;

-- The file's rows are too new for the table statistics: without real counts the planner
-- picks nested loops that grow with the square of the file.
analyze links;

-- Devices whose user changes: first links, and earlier links that name another user.
create temp table relinked on commit drop as
select links.anonymous_id, known.user_id as old_user_id, links.user_id
from links
left join core.identities known using (anonymous_id)
where known.anonymous_id is null
   or ((links.linked_at, links.link_event, links.user_id) < (known.linked_at, known.link_event, known.user_id)
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
    where (excluded.linked_at, excluded.link_event, excluded.user_id) < (i.linked_at, i.link_event, i.user_id);

drop table links;
