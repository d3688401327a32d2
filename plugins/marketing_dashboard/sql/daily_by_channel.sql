-- Spend and attributed revenue per day and channel under one model (days without rows are
-- absent; the API fills them with zeros).
select
    date,
    channel,
    sum(spend) as spend,
    sum(attributed_revenue) as attributed_revenue
from marts.roas_daily
where date between %(start)s and %(end)s
    and model = %(model)s
group by date, channel
order by date, channel
