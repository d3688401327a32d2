-- Events without a user_id of the devices in relinked (made by identities.sql or
-- identities_restate.sql: anonymous_id, old_user_id, user_id; a null user_id unlinks) now
-- belong to the linked user, or to the device itself. They are found through the person
-- index: until now their key was the device's or the old user's.
update core.touchpoints t
set person_key = coalesce('u:' || r.user_id, 'a:' || r.anonymous_id)
from relinked r
where t.person_key in ('a:' || r.anonymous_id, 'u:' || r.old_user_id)
  and t.anonymous_id = r.anonymous_id
  and t.user_id is null;

update core.conversions c
set person_key = coalesce('u:' || r.user_id, 'a:' || r.anonymous_id)
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

drop table relinked;
