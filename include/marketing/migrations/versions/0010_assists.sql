-- Assisted conversions, conversion paths and the funnel (docs/assists.md). Each run adds what
-- it changed to the rows it touches, like the other daily marts; a row with nothing behind it
-- goes. The next run rebuilds everything: it fills these tables, and marts.roas_daily then
-- counts the final conversion types only.
delete from ops.attribution_state;

-- (date, channel, conversion_type): per conversion, the channel of its last touch gets one
-- last-touch conversion, the channel of its first touch one first-touch conversion, and every
-- distinct channel of the touches before the last one assisted conversion (Google Analytics'
-- Multi-Channel Funnels definitions); each with the conversion's revenue as value. A
-- conversion with no eligible touch: the unattributed label closes and opens, nothing assists.
create table marts.assisted_conversions_daily (
    date                    date             not null, -- the conversion's day in the reporting time zone
    channel                 text collate "C" not null,
    conversion_type         text collate "C" not null,
    last_touch_conversions  bigint           not null,
    last_touch_value        numeric          not null, -- reporting currency
    first_touch_conversions bigint           not null,
    first_touch_value       numeric          not null,
    assisted_conversions    bigint           not null,
    assisted_value          numeric          not null,
    primary key (date, channel, conversion_type)
);

-- (date, conversion_type, path): path is the channels of the touches in order joined by ' > ',
-- consecutive repeats merged with a count ('Paid Search ×2 > Email'); the unattributed label
-- for a conversion with no eligible touch. path_length: its touches (0 for no touch; part of
-- the key only so that a label equal to a channel name, e.g. Direct, keeps its own row).
-- days_to_conversion: Σ over the conversions of the whole days from the first touch to the
-- conversion, so the mean is days_to_conversion / conversions.
create table marts.conversion_paths_daily (
    date               date             not null,
    conversion_type    text collate "C" not null,
    path               text collate "C" not null,
    path_length        integer          not null,
    conversions        bigint           not null,
    revenue            numeric          not null,
    days_to_conversion bigint           not null,
    primary key (date, conversion_type, path, path_length)
);

-- (date, model, channel, step): the attributed conversions (Σ credit) of one FUNNEL_STEPS
-- conversion type. The rate from the previous step over a period is Σ step / Σ previous step
-- of the same model and channel (sql/report/funnel_by_channel.sql), never a mean of daily rates.
create table marts.funnel_daily (
    date        date             not null,
    model       text collate "C" not null,
    channel     text collate "C" not null,
    step        text collate "C" not null, -- the conversion type
    step_index  integer          not null check (step_index >= 1), -- 1-based place in FUNNEL_STEPS
    conversions double precision not null,
    revenue     numeric          not null,
    credit_rows bigint           not null,
    primary key (date, model, channel, step)
);
