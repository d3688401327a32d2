-- Credits of every conversion in {conversions} under all six models, in one pass over the paths
-- (attribution.md), and their sums by grain into attribution_changes (from which the daily
-- marts are updated). {conversions} is core.conversions for a full rebuild, or a view of the
-- conversions to recompute. Event ids compare byte-wise (collate "C"), so the tie-break of
-- equal timestamps is the same on every server.
with conversions_attributed as (
    select
        c.conversion_id,
        c.occurred_at,
        (c.occurred_at at time zone %(reporting_timezone)s)::date as conversion_date,
        c.person_key,
        c.conversion_type,
        c.revenue
    from {conversions} c
    where cardinality(%(conversion_types)s::text[]) = 0
       or c.conversion_type = any(%(conversion_types)s::text[])
),

-- Each conversion with its eligible touches. The left join keeps a conversion without any as
-- one row with no touch, which every model below credits 1 (n = 1, position 1, weight 1).
paths as (
    select
        c.conversion_id,
        c.occurred_at as conversion_occurred_at,
        c.conversion_date,
        c.conversion_type,
        c.revenue,
        t.event_id,
        t.occurred_at as touch_occurred_at,
        t.channel,
        t.campaign,
        t.channel = any(%(direct_channels)s::text[]) as is_direct,
        row_number() over path_order as position,
        count(*) over whole_path as n,
        max(t.occurred_at) over whole_path as last_touch_at,
        -- The last non-direct touch is the one after which no other non-direct touch follows.
        count(*) filter (where t.channel <> all(%(direct_channels)s::text[])) over path_order as non_direct_so_far,
        count(*) filter (where t.channel <> all(%(direct_channels)s::text[])) over whole_path as non_direct_total
    from conversions_attributed c
    left join core.touchpoints t
        on t.person_key = c.person_key
        and t.occurred_at >= c.occurred_at - make_interval(hours => 24 * %(lookback_days)s)
        and t.occurred_at <= c.occurred_at
    -- Paths in the order of their conversions' time: the credits come out, and are stored, in
    -- day order. (The conversion id only separates conversions at the same instant.)
    window
        whole_path as (partition by c.occurred_at, c.conversion_id collate "C"),
        path_order as (
            partition by c.occurred_at, c.conversion_id collate "C"
            order by t.occurred_at, t.event_id collate "C"
            rows between unbounded preceding and current row
        )
),

-- Each touch's share under the models that need more than its position:
-- - last_non_direct: the last touch not in the direct set; when all are direct, the last touch.
-- - time_decay: 2^(−age/H) on continuous time, normalised over the path. Ages are measured
--   from the path's last touch rather than from the conversion: the normalised weights are the
--   same, and Σ r ≥ 1 cannot underflow to 0 however small the half-life. A touch more than
--   1000 half-lives older than the last one weighs 0 (2^-1000 ≈ 1e-301, and power() fails on
--   an underflow).
-- - position_based: (first, middle, last) weights; n = 2 splits the middle weight in halves.
paths_weighted as (
    select
        conversion_id,
        conversion_occurred_at,
        conversion_date,
        conversion_type,
        revenue,
        event_id,
        touch_occurred_at,
        channel,
        campaign,
        position,
        n,
        case
            when non_direct_total = 0 then position = n
            else not is_direct and non_direct_so_far = non_direct_total
        end as is_last_non_direct,
        coalesce(decay / sum(decay) over (partition by conversion_occurred_at, conversion_id collate "C"), 1) as decay_share,
        case
            when n = 1 then 1
            when n = 2 and position = 1 then %(first_weight)s::double precision + %(middle_weight)s::double precision / 2
            when n = 2 then %(last_weight)s::double precision + %(middle_weight)s::double precision / 2
            when position = 1 then %(first_weight)s::double precision
            when position = n then %(last_weight)s::double precision
            else %(middle_weight)s::double precision / (n - 2)
        end as position_share
    from paths
    cross join lateral (
        select date_part('epoch', last_touch_at - touch_occurred_at)
            / (%(half_life_days)s::double precision * 86400.0) as half_lives
    ) as age
    cross join lateral (
        select case when half_lives > 1000 then 0 else power(2::double precision, -half_lives) end as decay
    ) as d
),

-- One row per (conversion, model, credited touch): each model's rule, and its weight. A touch a
-- model gives no weight gets no row.
credits as (
    select 'first_touch' as model, 1.0::double precision as credit, p.*
    from paths_weighted p where p.position = 1
    union all
    select 'last_touch', 1.0, p.*
    from paths_weighted p where p.position = p.n
    union all
    select 'last_non_direct', 1.0, p.*
    from paths_weighted p where p.is_last_non_direct
    union all
    select 'linear', 1.0 / p.n, p.*
    from paths_weighted p
    union all
    select 'time_decay', p.decay_share, p.*
    from paths_weighted p where p.decay_share > 0
    union all
    select 'position_based', p.position_share, p.*
    from paths_weighted p where p.position_share > 0
),

inserted as (
    insert into marts.attribution_credits (
        conversion_id, model, touchpoint_event_id, channel, campaign, touch_occurred_at,
        touch_position, conversion_occurred_at, conversion_date, conversion_type, revenue,
        credit, revenue_credit
    )
    select
        conversion_id,
        model,
        event_id,
        coalesce(channel, %(unattributed_label)s),
        campaign,
        touch_occurred_at,
        case when event_id is not null then position end,
        conversion_occurred_at,
        conversion_date,
        conversion_type,
        revenue,
        credit,
        revenue * credit::numeric
    from credits
    returning conversion_date, model, channel, campaign, conversion_type, credit, revenue_credit
)

insert into attribution_changes (date, model, channel, campaign, conversion_type, conversions, revenue, credit_rows)
select conversion_date, model, channel, campaign, conversion_type, sum(credit), sum(revenue_credit), count(*)
from inserted
group by conversion_date, model, channel, campaign, conversion_type;
