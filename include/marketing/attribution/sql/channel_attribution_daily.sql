-- Add this run's changes (attribution_changes: the sums of the credit rows it removed, negated,
-- and of those it inserted) to the (date, model, channel, conversion_type) rows; a row left
-- with no credit rows behind it goes. Only the grains the run touched are read or written.
with changes_by_channel as (
    select
        date,
        model,
        channel,
        conversion_type,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        sum(credit_rows) as credit_rows
    from attribution_changes
    group by date, model, channel, conversion_type
)

insert into marts.channel_attribution_daily as d (date, model, channel, conversion_type, conversions, revenue, credit_rows)
select date, model, channel, conversion_type, conversions, revenue, credit_rows
from changes_by_channel
where credit_rows <> 0 or revenue <> 0 or conversions <> 0  -- a conversion recomputed unchanged
on conflict (date, model, channel, conversion_type) do update
    set conversions = case
            -- no float residue of adding and taking away the same credits
            when d.credit_rows + excluded.credit_rows = 0 then 0
            else d.conversions + excluded.conversions
        end,
        revenue = d.revenue + excluded.revenue,
        credit_rows = d.credit_rows + excluded.credit_rows;

delete from marts.channel_attribution_daily d
using (select distinct date from attribution_changes) c
where d.date = c.date and d.credit_rows = 0;
