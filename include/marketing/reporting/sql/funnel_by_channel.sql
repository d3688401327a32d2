-- The funnel per channel under one model over a period (docs/assists.md): every step of
-- %(funnel_steps)s for every channel with any, its attributed conversions (Σ credit), and the
-- rate from the previous step as a ratio of the period's sums (null for the first step, and
-- where the previous step has none). A null start or end leaves that side open.
with steps as (
    select step, step_index
    from unnest(%(funnel_steps)s::text[]) with ordinality as s (step, step_index)
),

step_sums as (
    select channel, step, sum(conversions) as conversions
    from marts.funnel_daily
    where date between coalesce(%(start)s::date, '-infinity'::date) and coalesce(%(end)s::date, 'infinity'::date)
        and model = %(model)s
    group by channel, step
),

channels as (
    select channel, sum(conversions) filter (where step = (%(funnel_steps)s::text[])[1]) as first_step
    from step_sums
    group by channel
),

funnel as (
    select c.channel, c.first_step, st.step, st.step_index, coalesce(s.conversions, 0) as conversions
    from channels c
    cross join steps st
    left join step_sums s on s.channel = c.channel and s.step = st.step
)

select
    channel,
    step,
    step_index::integer as step_index,
    conversions,
    conversions / nullif(lag(conversions) over (partition by channel order by step_index), 0) as rate
from funnel
order by first_step desc nulls last, channel, step_index
