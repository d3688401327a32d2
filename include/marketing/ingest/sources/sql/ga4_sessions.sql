-- The GA4 sessions of `affected`, formed from every loaded event of the current file versions
-- (docs/sources.md, GA4): per (user_pseudo_id, ga_session_id) its first event, its first event
-- that carries collected_traffic_source, its first user_id and how many events it has.
-- Ties in time are broken by the events' content, never by load order, so that any sequence
-- of loads forms what a clean load forms.
create temp table session_events on commit drop as
with superseded as (
    select m.file_id
    from ops.load_manifest m
    where m.feed = 'ga4'
      and exists (select 1 from ops.load_manifest n where n.path = m.path and n.file_id > m.file_id)
)
select r.*
from affected a
join raw.ga4 r
    on r.anonymous_id = a.anonymous_id and r.ga_session_id = a.ga_session_id and r.ga_session_id is not null
where r.file_id not in (select file_id from superseded);

analyze session_events;

-- One pass, no joins: the windows pick the first event with traffic data and the first
-- user_id of each session; distinct on keeps the session's first event.
select distinct on (anonymous_id, ga_session_id)
    anonymous_id, ga_session_id, occurred_at, page_location, page_referrer, file_id, line_number,
    first_value(manual_source) over traffic, first_value(manual_medium) over traffic,
    first_value(manual_campaign) over traffic, first_value(manual_term) over traffic,
    first_value(manual_content) over traffic, first_value(gclid) over traffic,
    first_value(user_id) over named,
    count(*) over (partition by anonymous_id, ga_session_id) as events
from session_events
window
    traffic as (
        partition by anonymous_id, ga_session_id
        order by coalesce(manual_source, manual_medium, manual_campaign, manual_term, manual_content, gclid) is null,
            occurred_at, event_name, page_location,
            manual_source, manual_medium, manual_campaign, manual_term, manual_content, gclid
    ),
    named as (partition by anonymous_id, ga_session_id order by user_id is null, occurred_at, event_name, user_id)
order by anonymous_id, ga_session_id, occurred_at, event_name, page_location, page_referrer, file_id, line_number;
