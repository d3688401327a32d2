-- The GA4 sessions one file version can change: every (user_pseudo_id, ga_session_id) its
-- events name, and on a restatement those its earlier versions named.
create temp table affected on commit drop as
select distinct r.anonymous_id, r.ga_session_id
from ops.load_manifest m
join raw.ga4 r on r.file_id = m.file_id
where m.path = %(path)s and r.ga_session_id is not null;

analyze affected;

-- The touchpoints those sessions have now (a GA4 session's event_id is its key).
create temp table previous_sessions on commit drop as
select 'ga4:' || anonymous_id || ':' || ga_session_id as event_id
from affected;
