-- Attribution marts (docs/contract.md section 4) and the ops tables that say how they were built.
-- Written by marketing.attribution, one transaction per run; docs/attribution.md has the rules.
-- Text columns of the marts compare byte-wise (collate "C"): runs sort and group them a lot,
-- and a locale's rules make that several times slower. Equality with core's text is the same.

-- One row per (conversion, model, credited touch). A touch a model gives no weight gets no row;
-- a conversion without an eligible touch gets one row per model with credit 1 and no touch.
create table marts.attribution_credits (
    conversion_id          text collate "C" not null,
    model                  text collate "C" not null check (model in (
                               'first_touch', 'last_touch', 'last_non_direct',
                               'linear', 'time_decay', 'position_based')),
    touchpoint_event_id    text collate "C",          -- null: no eligible touch (unattributed)
    channel                text collate "C" not null, -- the touch's channel, or the unattributed label
    campaign               text collate "C",          -- the touch's utm_campaign; null when none
    touch_occurred_at      timestamptz,
    touch_position         integer,                   -- 1..n along the path; null when unattributed
    conversion_occurred_at timestamptz      not null,
    conversion_date        date             not null, -- the conversion's day in the reporting time zone
    conversion_type        text collate "C" not null,
    revenue                numeric          not null, -- the conversion's revenue, reporting currency
    credit                 double precision not null check (credit > 0 and credit <= 1 + 1e-9),
    revenue_credit         numeric          not null  -- credit × revenue
);
-- A run replaces the rows of given conversions. A range run and the dashboard filter by day:
-- a full rebuild writes the rows in day order and later runs mostly add new days, so a BRIN
-- index serves that at almost no cost to the writes.
create index attribution_credits_conversion on marts.attribution_credits (conversion_id);
create index attribution_credits_date on marts.attribution_credits using brin (conversion_date);

-- (date, model, channel, conversion_type): attributed conversions (Σ credit) and revenue.
-- Each run adds what it changed (the credit rows it removed, negated, and those it inserted);
-- credit_rows counts the credit rows behind a row, and a row whose count drops to 0 goes.
create table marts.channel_attribution_daily (
    date            date             not null, -- the conversion day in the reporting time zone
    model           text collate "C" not null,
    channel         text collate "C" not null,
    conversion_type text collate "C" not null,
    conversions     double precision not null, -- Σ credit (fractional)
    revenue         numeric          not null, -- Σ revenue_credit, reporting currency
    credit_rows     bigint           not null,
    primary key (date, model, channel, conversion_type)
);

-- (date, model, channel, campaign): spend beside attributed conversions and revenue. A row
-- exists when either side does (spend_rows: core.ad_spend rows behind it; credit_rows: credit
-- rows behind it). campaign is null when there is none (a touch without utm_campaign, a spend
-- row with an empty campaign); both count as the same campaign. Period ROAS is
-- Σ attributed_revenue / Σ spend over the period, never an average of the daily roas.
create table marts.roas_daily (
    date                   date             not null,
    model                  text collate "C" not null,
    channel                text collate "C" not null,
    campaign               text collate "C",
    spend                  numeric          not null, -- reporting currency; 0 where there is none
    attributed_conversions double precision not null,
    attributed_revenue     numeric          not null,
    roas                   double precision generated always as (
                               case when spend <> 0 then (attributed_revenue / spend)::double precision end
                           ) stored,                  -- null when spend is 0 or absent
    cpa                    double precision generated always as (
                               case when spend_rows > 0 and attributed_conversions <> 0
                                   then spend::double precision / attributed_conversions end
                           ) stored,                  -- null when spend is absent or nothing is attributed
    spend_rows             integer          not null,
    credit_rows            bigint           not null
);
create unique index roas_daily_key on marts.roas_daily (date, model, channel, coalesce(campaign, ''));

-- One row per attribution run, with the parameters it ran with.
create table ops.attribution_runs (
    run_id                 bigserial   primary key,
    started_at             timestamptz not null,
    finished_at            timestamptz not null,
    mode                   text        not null check (mode in ('full', 'incremental', 'range')),
    reason                 text,       -- why a run was full: first run, forced, params changed, marts empty
    params                 jsonb       not null,
    params_digest          text        not null,
    conversions_recomputed bigint      not null default 0,
    dates_recomputed       integer     not null default 0,
    queue_items            integer     not null default 0
);
create index attribution_runs_started on ops.attribution_runs (started_at);

-- The parameters the marts hold results for (one row). A run with other parameters rebuilds
-- everything, so rows built with old and new parameters never mix.
create table ops.attribution_state (
    singleton     boolean     primary key default true check (singleton),
    params        jsonb       not null,
    params_digest text        not null,
    run_id        bigint      not null references ops.attribution_runs,
    built_at      timestamptz not null
);
