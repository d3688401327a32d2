-- The sums of the credit rows of the path rows in {paths}, times %(sign)s (1: rows added,
-- -1: rows removed), by (date, model, channel, campaign, conversion_type): the rows of
-- attribution_changes, which the daily marts add up. The same credit rows as the
-- attribution_credits view, in one pass over the paths for all six models. A select: the
-- caller inserts its rows.
select g.conversion_date, m.model, g.channel, g.campaign, g.conversion_type,
       %(sign)s * m.conversions, %(sign)s * m.revenue, %(sign)s * m.credit_rows
from (
    select
        conversion_date,
        channel,
        campaign,
        conversion_type,
        count(*) filter (where first) as first_rows,
        sum(revenue) filter (where first) as first_revenue,
        count(*) filter (where last) as last_rows,
        sum(revenue) filter (where last) as last_revenue,
        count(*) filter (where last_non_direct) as last_non_direct_rows,
        sum(revenue) filter (where last_non_direct) as last_non_direct_revenue,
        count(*) as linear_rows,
        sum(1.0::double precision / path_length) as linear_conversions,
        sum(marts.revenue_credit(revenue, 1.0::double precision / path_length)) as linear_revenue,
        count(*) filter (where time_decay_credit > 0) as time_decay_rows,
        sum(time_decay_credit) as time_decay_conversions,
        sum(marts.revenue_credit(revenue, time_decay_credit)) as time_decay_revenue,
        count(*) filter (where position_credit > 0) as position_rows,
        sum(position_credit) as position_conversions,
        sum(marts.revenue_credit(revenue, position_credit)) as position_revenue
    from {paths}
    cross join lateral (
        select coalesce(touch_position, 1) = 1 as first, coalesce(touch_position, 1) = path_length as last
    ) as ends
    group by conversion_date, channel, campaign, conversion_type
) as g
cross join lateral (
    values
        ('first_touch', g.first_rows::double precision, g.first_revenue, g.first_rows),
        ('last_touch', g.last_rows::double precision, g.last_revenue, g.last_rows),
        ('last_non_direct', g.last_non_direct_rows::double precision, g.last_non_direct_revenue, g.last_non_direct_rows),
        ('linear', g.linear_conversions, g.linear_revenue, g.linear_rows),
        ('time_decay', g.time_decay_conversions, g.time_decay_revenue, g.time_decay_rows),
        ('position_based', g.position_conversions, g.position_revenue, g.position_rows)
) as m (model, conversions, revenue, credit_rows)
where m.credit_rows > 0;
