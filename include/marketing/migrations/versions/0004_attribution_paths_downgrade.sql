-- Back to 0003: credits as a table again, empty; the next run rebuilds the marts.
drop view marts.attribution_credits;
drop function marts.revenue_credit(numeric, double precision);
drop table marts.attribution_paths;
delete from ops.attribution_state;
truncate marts.channel_attribution_daily, marts.roas_daily;
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
