-- Add this run's credit changes of the FUNNEL_STEPS conversion types (attribution_changes) to
-- the (date, model, channel, step) rows of marts.funnel_daily; a row left with no credit rows
-- behind it goes. The step is the conversion type, step_index its 1-based place in the list.
with changes as (
    select
        date,
        model,
        channel,
        conversion_type as step,
        array_position(%(funnel_steps)s::text[], conversion_type::text) as step_index,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        sum(credit_rows) as credit_rows
    from attribution_changes
    where conversion_type = any(%(funnel_steps)s::text[])
    group by date, model, channel, conversion_type
)

insert into marts.funnel_daily as d (date, model, channel, step, step_index, conversions, revenue, credit_rows)
select date, model, channel, step, step_index, conversions, revenue, credit_rows
from changes
where credit_rows <> 0 or revenue <> 0 or conversions <> 0
on conflict (date, model, channel, step) do update
    set conversions = case
            -- no float residue of adding and taking away the same credits
            when d.credit_rows + excluded.credit_rows = 0 then 0
            else d.conversions + excluded.conversions
        end,
        revenue = d.revenue + excluded.revenue,
        credit_rows = d.credit_rows + excluded.credit_rows;

delete from marts.funnel_daily d
using (select distinct date from attribution_changes) c
where d.date = c.date and d.credit_rows = 0;
