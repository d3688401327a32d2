-- Credits stored per path touch (docs/attribution.md; docs/contract.md section 4 is the view below).
-- The marts are rebuilt from scratch by the next run: the state row goes, so it is a full one.

drop table marts.attribution_credits;
delete from ops.attribution_state;
truncate marts.channel_attribution_daily, marts.roas_daily;

-- One row per (conversion, eligible touch), or one row with no touch for a conversion without
-- any, with what every model gives it:
-- - first_touch: touch_position = 1; last_touch: touch_position = path_length (an unattributed
--   row counts as position 1 of 1);
-- - last_non_direct: the flag; linear: 1 / path_length;
-- - time_decay and position_based: their shares, 0 for a touch the model gives nothing.
-- slice = abs(hashtext(person_key) % number of slices): a person's conversions and touches are
-- in one slice, so a slice's paths are computed from its own rows.
create table marts.attribution_paths (
    slice                  smallint         not null,
    conversion_id          text collate "C" not null,
    conversion_occurred_at timestamptz      not null,
    conversion_date        date             not null, -- the conversion's day in the reporting time zone
    conversion_type        text collate "C" not null,
    revenue                numeric          not null, -- the conversion's revenue, reporting currency
    touchpoint_event_id    text collate "C",          -- null: no eligible touch (unattributed)
    touch_occurred_at      timestamptz,
    channel                text collate "C" not null, -- the touch's channel, or the unattributed label
    campaign               text collate "C",
    touch_position         integer,                   -- 1..path_length; null when unattributed
    path_length            integer          not null check (path_length >= 1),
    last_non_direct        boolean          not null,
    time_decay_credit      double precision not null check (time_decay_credit >= 0 and time_decay_credit <= 1 + 1e-9),
    position_credit        double precision not null check (position_credit >= 0 and position_credit <= 1 + 1e-9)
) partition by list (slice);
create table marts.attribution_paths_s0 partition of marts.attribution_paths for values in (0);
create table marts.attribution_paths_s1 partition of marts.attribution_paths for values in (1);

-- A run replaces the rows of given conversions. Range runs and readers filter by day: rows are
-- written in day order, so a BRIN index serves that at almost no cost to the writes.
create index attribution_paths_conversion on marts.attribution_paths (conversion_id);
create index attribution_paths_date on marts.attribution_paths using brin (conversion_date);

-- credit × revenue, exact in numeric: the credit is taken to 18 decimals (a double has fewer
-- significant digits), which is cheaper than converting the double to numeric. The view and
-- the daily marts both use it, so their sums agree to the last digit.
create function marts.revenue_credit(revenue numeric, credit double precision) returns numeric
    language sql immutable strict parallel safe
    return revenue * (credit * 1e18::double precision)::bigint * 0.000000000000000001;

-- Contract section 4: one row per (conversion, model, credited touch); a touch a model gives
-- no weight has no row.
create view marts.attribution_credits as
select
    p.conversion_id,
    m.model,
    p.touchpoint_event_id,
    p.channel,
    p.campaign,
    p.touch_occurred_at,
    p.touch_position,
    p.conversion_occurred_at,
    p.conversion_date,
    p.conversion_type,
    p.revenue,
    m.credit,
    marts.revenue_credit(p.revenue, m.credit) as revenue_credit
from marts.attribution_paths p
cross join lateral (
    values
        ('first_touch', case when coalesce(p.touch_position, 1) = 1 then 1.0::double precision end),
        ('last_touch', case when coalesce(p.touch_position, 1) = p.path_length then 1.0::double precision end),
        ('last_non_direct', case when p.last_non_direct then 1.0::double precision end),
        ('linear', 1.0::double precision / p.path_length),
        ('time_decay', nullif(p.time_decay_credit, 0)),
        ('position_based', nullif(p.position_credit, 0))
) as m (model, credit)
where m.credit is not null;
