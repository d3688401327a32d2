-- The rows of attribution_changes for a set of path rows: for each (date, model, channel,
-- campaign, conversion_type), Σ credit, Σ revenue_credit and the number of credit rows, times
-- %(sign)s (1: rows added, -1: rows removed). The daily marts add them up. `credit_sums` holds
-- every model's sums of the path rows in one pass (marketing.attribution.models.credit_sums,
-- arrays in the order of %(summed_models)s); the caller puts it in front:
--   with credit_sums as (…) insert into attribution_changes (…) <this select>
select
    g.conversion_date,
    m.model,
    g.channel,
    g.campaign,
    g.conversion_type,
    %(sign)s * m.conversions,
    %(sign)s * m.revenue,
    %(sign)s * m.credit_rows
from credit_sums g
cross join lateral unnest(%(summed_models)s::text[], g.conversions, g.revenue, g.credit_rows)
    as m (model, conversions, revenue, credit_rows)
where m.credit_rows > 0
