-- Customer value by acquisition channel over the cohorts of a period (docs/customers.md): new
-- customers, spend, CAC, realised value per customer at age_days, predicted LTV per customer,
-- LTV : CAC and the share of customers at risk (p_alive < 0.5). Ratios of sums, never averages
-- of monthly ratios. Without spend there is no CAC (marts.period_cpa: the same rule as CPA), where
-- the mart says 0. `make demo` and the dashboard's Customers view both read this file.
-- Parameters: start, end (first and last cohort month; null = open), age_days.
with acquisition as (
    select
        channel,
        sum(new_customers) as new_customers,
        sum(spend) as spend,
        sum(new_customers * predicted_ltv_per_customer) as predicted_ltv
    from marts.channel_acquisition_monthly
    where month >= coalesce(%(start)s::date, '-infinity') and month <= coalesce(%(end)s::date, 'infinity')
    group by channel
),
realised as (
    select channel, sum(value) / nullif(sum(mature_customers), 0)::numeric as value_per_customer,
           sum(mature_customers) as mature_customers
    from marts.cohort_value
    where age_days = %(age_days)s
      and cohort_month >= coalesce(%(start)s::date, '-infinity') and cohort_month <= coalesce(%(end)s::date, 'infinity')
    group by channel
),
risk as (
    -- none at risk is a share of 0; no p_alive (nothing fitted) is no share
    select q.channel, coalesce(sum(q.credit) filter (where v.p_alive < 0.5), 0)
                      / nullif(sum(q.credit) filter (where v.p_alive is not null), 0) as share_at_risk
    from marts.customer_acquisition q
    join marts.customer_value v using (person_key)
    where q.cohort_month >= coalesce(%(start)s::date, '-infinity') and q.cohort_month <= coalesce(%(end)s::date, 'infinity')
    group by q.channel
)
select
    a.channel,
    a.new_customers,
    a.spend,
    marts.period_cpa(a.spend, a.new_customers) as cac,
    r.mature_customers,
    r.value_per_customer,
    a.predicted_ltv / nullif(a.new_customers, 0) as predicted_ltv_per_customer,
    a.predicted_ltv / nullif(a.spend::double precision, 0) as ltv_to_cac,
    k.share_at_risk
from acquisition a
left join realised r using (channel)
left join risk k using (channel)
where a.new_customers > 0 or a.spend > 0
order by a.new_customers desc, a.channel;
