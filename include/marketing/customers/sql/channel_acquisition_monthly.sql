-- marts.channel_acquisition_monthly (docs/customers.md rules 7, 11): new customers (Σ credit)
-- and the cohort's predicted LTV per customer beside the channel's spend of the month (every
-- campaign). A row exists when either side does; cac and ltv_to_cac are generated columns.
insert into marts.channel_acquisition_monthly (month, channel, new_customers, spend, predicted_ltv_per_customer)
with acquired as (
    select
        q.cohort_month as month,
        q.channel,
        sum(q.credit) as new_customers,
        sum(q.credit * v.predicted_ltv) / nullif(sum(q.credit), 0) as predicted_ltv_per_customer
    from marts.customer_acquisition q
    join marts.customer_value v using (person_key)
    group by q.cohort_month, q.channel
),
spent as (
    select date_trunc('month', date)::date as month, channel, sum(spend) as spend
    from core.ad_spend
    group by 1, 2
)
select
    coalesce(a.month, s.month),
    coalesce(a.channel, s.channel),
    coalesce(a.new_customers, 0),
    coalesce(s.spend, 0),
    a.predicted_ltv_per_customer
from acquired a
full join spent s on s.month = a.month and s.channel = a.channel;
