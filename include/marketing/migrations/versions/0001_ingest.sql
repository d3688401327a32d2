-- Layers are schemas: raw (as delivered, with file and line), core (clean, one row per real
-- thing), marts (attribution, ROAS), ops (manifest, quarantine, run history).
create schema if not exists raw;
create schema if not exists core;
create schema if not exists marts;
create schema if not exists ops;

-- One row per version of a landing file that was loaded. A path with new bytes is a restatement
-- and gets a new row; the newest row of a path says what is loaded now.
create table ops.load_manifest (
    file_id          bigserial primary key,
    feed             text        not null check (feed in ('touchpoints', 'conversions', 'ad_spend', 'fx_rates')),
    path             text        not null,
    size             bigint      not null,
    checksum         text        not null,
    rows_total       integer     not null default 0,
    rows_loaded      integer     not null default 0,
    rows_quarantined integer     not null default 0,
    loaded_at        timestamptz not null default now()
);
create index load_manifest_path on ops.load_manifest (path, file_id desc);

create table ops.quarantine (
    quarantine_id  bigserial primary key,
    file_id        bigint      not null references ops.load_manifest,
    feed           text        not null,
    path           text        not null,
    line_number    integer,    -- null: the whole file could not be read
    raw_text       text,
    reason         text        not null,
    quarantined_at timestamptz not null default now()
);
create index quarantine_file on ops.quarantine (file_id);

-- What the loads changed since attribution last ran; consumed in the attribution transaction.
create table ops.attribution_queue (
    queue_id   bigserial primary key,
    kind       text        not null check (kind in ('person', 'conversion', 'spend_date')),
    key        text        not null,
    since      timestamptz, -- person: earliest changed touch (null: every conversion of the person)
    file_id    bigint      not null,
    created_at timestamptz not null default now()
);

-- raw: every valid line as delivered (plus the normalised source/medium/campaign and channel),
-- append-only per file version. BRIN on file_id: files arrive in id order, so it stays tiny.
create table raw.touchpoints (
    file_id      bigint      not null,
    line_number  integer     not null,
    event_id     text        not null,
    occurred_at  timestamptz not null,
    anonymous_id text,
    user_id      text,
    utm_source   text,
    utm_medium   text,
    utm_campaign text,
    utm_term     text,
    utm_content  text,
    referrer     text,
    page_url     text,
    extra        jsonb,
    source       text,
    medium       text,
    campaign     text,
    channel      text        not null
);
create index touchpoints_file on raw.touchpoints using brin (file_id);

create table raw.conversions (
    file_id         bigint      not null,
    line_number     integer     not null,
    conversion_id   text        not null,
    occurred_at     timestamptz not null,
    anonymous_id    text,
    user_id         text,
    conversion_type text        not null,
    revenue         numeric     not null,
    currency        text,
    extra           jsonb
);
create index conversions_file on raw.conversions using brin (file_id);

create table raw.ad_spend (
    file_id     bigint  not null,
    line_number integer not null,
    date        date    not null,
    source      text    not null,
    medium      text    not null,
    campaign    text    not null,
    spend       numeric not null,
    currency    text    not null,
    impressions bigint,
    clicks      bigint,
    channel     text    not null
);
create index ad_spend_file on raw.ad_spend using brin (file_id);

create table raw.fx_rates (
    file_id     bigint  not null,
    line_number integer not null,
    date        date    not null,
    currency    text    not null,
    rate        numeric not null
);
create index fx_rates_file on raw.fx_rates using brin (file_id);

-- core: one row per real thing.
create table core.fx_rates (
    date     date    not null,
    currency text    not null,
    rate     numeric not null check (rate > 0),
    file_id  bigint  not null,
    primary key (date, currency)
);

create table core.identities (
    anonymous_id text        primary key,
    user_id      text        not null,
    linked_at    timestamptz not null, -- the earliest event that carried both ids
    link_event   text        not null, -- its event_id or conversion_id (ties broken by it)
    file_id      bigint      not null
);

create table core.touchpoints (
    event_id     text        primary key,
    occurred_at  timestamptz not null,
    person_key   text        not null, -- 'u:<user_id>' or 'a:<anonymous_id>' (docs/contract.md, 1.6 People)
    anonymous_id text,
    user_id      text,
    source       text,
    medium       text,
    campaign     text,
    channel      text        not null,
    file_id      bigint      not null,
    line_number  integer     not null
);
create index touchpoints_person on core.touchpoints (person_key, occurred_at);

create table core.conversions (
    conversion_id    text        primary key,
    occurred_at      timestamptz not null,
    person_key       text        not null,
    anonymous_id     text,
    user_id          text,
    conversion_type  text        not null,
    revenue          numeric     not null, -- in the reporting currency
    revenue_original numeric     not null,
    currency         text,
    fx_rate          numeric,              -- null when revenue_original is 0 and no rate applies
    file_id          bigint      not null,
    line_number      integer     not null
);
create index conversions_person on core.conversions (person_key, occurred_at);
create index conversions_occurred on core.conversions (occurred_at);

create table core.ad_spend (
    date           date    not null,
    source         text    not null,
    medium         text    not null,
    campaign       text    not null,
    channel        text    not null,
    spend          numeric not null, -- in the reporting currency
    spend_original numeric not null,
    currency       text    not null,
    fx_rate        numeric not null,
    impressions    bigint,
    clicks         bigint,
    file_id        bigint  not null,
    primary key (date, source, medium, campaign)
);
