-- Remove the credit rows of the conversions in attribution_affected, and subtract their sums
-- by grain in attribution_changes: the daily marts then lose exactly what these rows added.
-- `= any(array(...))` makes it one index lookup per conversion: with a join the planner may
-- expect many rows (it cannot know new conversions have none yet) and scan the whole table.
with removed as (
    delete from marts.attribution_credits a
    where a.conversion_id = any(array(select conversion_id from attribution_affected))
    returning a.conversion_date, a.model, a.channel, a.campaign, a.conversion_type, a.credit, a.revenue_credit
)

insert into attribution_changes (date, model, channel, campaign, conversion_type, conversions, revenue, credit_rows)
select conversion_date, model, channel, campaign, conversion_type, -sum(credit), -sum(revenue_credit), -count(*)
from removed
group by conversion_date, model, channel, campaign, conversion_type;
