-- marts.attribution_credits, the contract's grain (docs/contract.md, "What comes out"): one row
-- per (conversion, model, credited touch); a touch a model gives nothing has no row. It is a
-- view over the stored path rows: `path_credits` is each path row times the models that credit
-- it (marketing.attribution.models.path_credits, from the rules in sql/models/). The run
-- (re)creates the view whenever the models change:
--   create or replace view marts.attribution_credits as with path_credits as (…) <this select>
select
    conversion_id,
    model,
    touchpoint_event_id,
    channel,
    campaign,
    touch_occurred_at,
    touch_position,
    conversion_occurred_at,
    conversion_date,
    conversion_type,
    revenue,
    credit,
    marts.revenue_credit(revenue, credit) as revenue_credit
from path_credits
