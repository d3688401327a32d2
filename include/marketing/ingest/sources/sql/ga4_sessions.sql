-- The GA4 sessions of `affected`, formed from every loaded event of the current file versions
-- (docs/sources.md, GA4): per (user_pseudo_id, ga_session_id) its first event, its first event
-- that carries collected_traffic_source, its first user_id and how many events it has.
-- Ties in time are broken by the events' content, never by load order, so that any sequence
-- of loads forms what a clean load forms.
with superseded as (
    select m.file_id
    from ops.load_manifest m
    where m.feed = 'ga4'
      and exists (select 1 from ops.load_manifest n where n.path = m.path and n.file_id > m.file_id)
),
events as (
    select r.*
    from affected a
    join raw.ga4 r
        on r.anonymous_id = a.anonymous_id and r.ga_session_id = a.ga_session_id and r.ga_session_id is not null
    where r.file_id not in (select file_id from superseded)
),
first_event as (
    select distinct on (anonymous_id, ga_session_id)
        anonymous_id, ga_session_id, occurred_at, page_location, page_referrer, file_id, line_number
    from events
    order by anonymous_id, ga_session_id, occurred_at, event_name, page_location, page_referrer, file_id, line_number
),
traffic as (
    select distinct on (anonymous_id, ga_session_id)
        anonymous_id, ga_session_id, manual_source, manual_medium, manual_campaign, manual_term, manual_content, gclid
    from events
    where coalesce(manual_source, manual_medium, manual_campaign, manual_term, manual_content, gclid) is not null
    order by anonymous_id, ga_session_id, occurred_at, event_name, page_location,
        manual_source, manual_medium, manual_campaign, manual_term, manual_content, gclid
),
named as (
    select distinct on (anonymous_id, ga_session_id) anonymous_id, ga_session_id, user_id
    from events
    where user_id is not null
    order by anonymous_id, ga_session_id, occurred_at, event_name, user_id
),
counted as (
    select anonymous_id, ga_session_id, count(*) as events
    from events
    group by anonymous_id, ga_session_id
)
select
    f.anonymous_id, f.ga_session_id, f.occurred_at, f.page_location, f.page_referrer, f.file_id, f.line_number,
    t.manual_source, t.manual_medium, t.manual_campaign, t.manual_term, t.manual_content, t.gclid,
    n.user_id, c.events
from first_event f
join counted c using (anonymous_id, ga_session_id)
left join traffic t using (anonymous_id, ga_session_id)
left join named n using (anonymous_id, ga_session_id);
