-- Sources beside the native feeds (docs/sources.md): GA4 export rows and Segment calls in the
-- landing zone, and the orders database.
alter table ops.load_manifest drop constraint load_manifest_feed_check;
alter table ops.load_manifest add constraint load_manifest_feed_check
    check (feed in ('touchpoints', 'conversions', 'ad_spend', 'fx_rates', 'ga4', 'segment', 'orders'));

-- raw.ga4: one row per GA4 export row as delivered (the fields the platform reads), with file
-- and line. A mapped conversion event also lands in raw.conversions (same file and line).
create table raw.ga4 (
    file_id          bigint      not null,
    line_number      integer     not null,
    event_name       text        not null,
    occurred_at      timestamptz not null, -- event_timestamp
    event_key        text        not null, -- <user_pseudo_id>:<event_timestamp>:<event_name>
    anonymous_id     text        not null, -- user_pseudo_id
    user_id          text,
    ga_session_id    text,                 -- null: the event belongs to no session
    manual_source    text,
    manual_medium    text,
    manual_campaign  text,
    manual_term      text,
    manual_content   text,
    gclid            text,
    page_location    text,
    page_referrer    text,
    conversion_id    text,                 -- a mapped conversion event (GA4_CONVERSION_EVENTS)
    conversion_type  text,
    revenue          numeric,
    currency         text
);
create index ga4_file on raw.ga4 using brin (file_id);
create index ga4_session on raw.ga4 (anonymous_id, ga_session_id) where ga_session_id is not null;

-- raw.segment: one row per Segment/RudderStack call as delivered, with file and line.
create table raw.segment (
    file_id           bigint      not null,
    line_number       integer     not null,
    message_id        text        not null,
    type              text        not null, -- page | screen | track | identify | group | alias
    event             text,
    occurred_at       timestamptz not null,
    device_id         text        not null, -- anonymousId, or 'userId:' || userId when there is none
    anonymous_id      text,
    user_id           text,
    utm_source        text,                 -- context.campaign, else the UTM parameters of the URL
    utm_medium        text,
    utm_campaign      text,
    utm_term          text,
    utm_content       text,
    page_url          text,
    referrer          text,
    external_referrer boolean     not null default false, -- on another site than the page and OWN_DOMAINS
    conversion_id     text,                 -- a mapped track event (SEGMENT_CONVERSION_EVENTS)
    conversion_type   text,
    revenue           numeric,
    currency          text
);
create index segment_file on raw.segment using brin (file_id);
create index segment_device on raw.segment (device_id) where type in ('page', 'screen');

-- core.sessions: the visits an event source's events form; each is one touchpoint
-- (event_id). Re-formed per device (Segment) or per session id (GA4) when events arrive.
create table core.sessions (
    source      text        not null check (source in ('ga4', 'segment')),
    device_id   text        not null,
    event_id    text        not null primary key, -- the touchpoint of the session
    started_at  timestamptz not null,
    events      integer     not null
);
create index sessions_device on core.sessions (source, device_id);

-- raw.orders: rows as extracted from the orders database, one manifest row per extract run.
create table raw.orders (
    file_id         bigint      not null,
    line_number     integer     not null,
    conversion_id   text        not null,
    occurred_at     timestamptz not null,
    anonymous_id    text,
    user_id         text,
    conversion_type text        not null,
    revenue         numeric     not null,
    currency        text,
    updated_at      timestamptz not null
);
create index orders_file on raw.orders using brin (file_id);

-- Watermarks of incremental extracts: the largest updated_at loaded, moved in the load's
-- transaction.
create table ops.source_watermarks (
    source     text        primary key,
    watermark  timestamptz not null,
    file_id    bigint      not null,
    updated_at timestamptz not null default now()
);
