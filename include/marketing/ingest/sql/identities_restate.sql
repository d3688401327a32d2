-- Identity links of the devices that a restated file's old or new version links, taken again
-- from every live file of both feeds (README, People): the earliest line that carries both ids
-- wins, ties broken by the event's id, then the user_id. A device no live line links any more
-- is unlinked. This reads the raw rows of every live file (a scan), which only a restatement
-- pays. identities_rekey.sql then moves the devices' events.
create temp table relinked on commit drop as
with devices as (
    select anonymous_id from raw.touchpoints
    where file_id in (%(previous_file_id)s, %(file_id)s) and anonymous_id is not null and user_id is not null
    union
    select anonymous_id from raw.conversions
    where file_id in (%(previous_file_id)s, %(file_id)s) and anonymous_id is not null and user_id is not null
),
lines as (
    select r.anonymous_id, r.user_id, r.occurred_at, r.event_id as link_event, r.file_id
    from raw.touchpoints r
    join devices d on d.anonymous_id = r.anonymous_id
    join ops.live_files f on f.file_id = r.file_id
    where r.user_id is not null
    union all
    select r.anonymous_id, r.user_id, r.occurred_at, r.conversion_id, r.file_id
    from raw.conversions r
    join devices d on d.anonymous_id = r.anonymous_id
    join ops.live_files f on f.file_id = r.file_id
    where r.user_id is not null
),
links as (
    select distinct on (anonymous_id) anonymous_id, user_id, occurred_at as linked_at, link_event, file_id
    from lines
    order by anonymous_id, occurred_at, link_event, user_id
)
select d.anonymous_id, known.user_id as old_user_id, links.user_id, links.linked_at, links.link_event, links.file_id
from devices d
left join links on links.anonymous_id = d.anonymous_id
left join core.identities known on known.anonymous_id = d.anonymous_id
where (known.user_id, known.linked_at, known.link_event) is distinct from (links.user_id, links.linked_at, links.link_event);

analyze relinked;

delete from core.identities i
using relinked r
where i.anonymous_id = r.anonymous_id and r.user_id is null;

insert into core.identities as i (anonymous_id, user_id, linked_at, link_event, file_id)
select anonymous_id, user_id, linked_at, link_event, file_id
from relinked
where user_id is not null
on conflict (anonymous_id) do update
    set user_id = excluded.user_id,
        linked_at = excluded.linked_at,
        link_event = excluded.link_event,
        file_id = excluded.file_id;
