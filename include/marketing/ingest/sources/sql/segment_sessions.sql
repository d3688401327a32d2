-- The Segment sessions of the devices in `affected`, formed from every loaded page and screen
-- call of the current file versions (docs/sources.md, Segment). Calls of a device in
-- (timestamp, messageId) order; a session starts at the first call, after more than the
-- timeout without a call, at a call whose referrer is on another site, or at a call whose
-- campaign is present and differs from the session's. A call's campaign matches the session's
-- exactly when the last earlier call with a campaign had the same one and no session started
-- in between for another reason (the session's first call then carries that campaign).
with calls as (
    -- a re-sent call (same messageId) counts once: the line of the earliest-ranked live file
    -- wins (README, "Which value wins"), as in a clean load
    select distinct on (r.device_id, r.message_id)
        r.device_id, r.message_id, r.occurred_at, r.anonymous_id, r.user_id,
        r.utm_source, r.utm_medium, r.utm_campaign, r.utm_term, r.utm_content,
        r.page_url, r.referrer, r.external_referrer, r.file_id, r.line_number
    from affected a
    join raw.segment r on r.device_id = a.device_id and r.type in ('page', 'screen')
    join ops.live_files f on f.file_id = r.file_id
    order by r.device_id, r.message_id, f.rank collate "C", r.line_number
),
gaps as (
    select c.*,
        lag(occurred_at) over device is null
            or occurred_at - lag(occurred_at) over device > %(timeout_minutes)s * interval '1 minute'
            or external_referrer as other_start,
        case when coalesce(utm_source, utm_medium, utm_campaign, utm_term, utm_content) is not null
            then concat_ws(E'\x1f', lower(coalesce(utm_source, '')), lower(coalesce(utm_medium, '')),
                           lower(coalesce(utm_campaign, '')), lower(coalesce(utm_term, '')),
                           lower(coalesce(utm_content, '')))
        end as campaign
    from calls c
    window device as (partition by device_id order by occurred_at, message_id)
),
epochs as (
    select g.*, sum(other_start::int) over device as epoch
    from gaps g
    window device as (partition by device_id order by occurred_at, message_id)
),
campaigns as (
    select e.*,
        lag(campaign) over present as previous_campaign,
        lag(epoch) over present as previous_epoch
    from epochs e
    window present as (partition by device_id, campaign is null order by occurred_at, message_id)
),
numbered as (
    select c.*,
        sum((other_start or (campaign is not null and (previous_campaign is null
                                                       or previous_campaign <> campaign
                                                       or previous_epoch <> epoch)))::int)
            over (partition by device_id order by occurred_at, message_id) as session
    from campaigns c
)
-- One pass, no joins: the first user_id and the size of each session by window, and its
-- first call by distinct on.
select distinct on (device_id, session)
    message_id, device_id, occurred_at, anonymous_id,
    first_value(user_id) over (partition by device_id, session order by user_id is null, occurred_at, message_id),
    utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    referrer, external_referrer, file_id, line_number,
    count(*) over (partition by device_id, session) as events
from numbered
order by device_id, session, occurred_at, message_id;
