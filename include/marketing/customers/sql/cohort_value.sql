-- marts.cohort_value (docs/customers.md rules 5, 6): per cohort month, acquisition channel and
-- age D, the customers (Σ credit), those mature at D (first purchase + D days <= as_of) and
-- their realised value: Σ credit × revenue of every purchase before first purchase + D days.
-- Parameters: ages (int[]), as_of (timestamptz).
-- Σ credit × value_D is summed purchase by purchase straight into the (cohort, channel, age)
-- groups, never through a row per customer and age: revenue_credit is an exact numeric
-- product, so the sum of the parts equals the part of the sum to the last digit.
insert into marts.cohort_value (cohort_month, channel, age_days, customers, mature_customers, value)
with ages as (
    select unnest(%(ages)s::int[]) as age_days
),
counted as (  -- the cohort's customers, and those mature at D
    select q.cohort_month, q.channel, a.age_days,
           sum(q.credit) as customers,
           coalesce(sum(q.credit) filter (
               where q.first_purchase_at + make_interval(days => a.age_days) <= %(as_of)s::timestamptz
           ), 0) as mature_customers
    from acquisition_next q
    cross join ages a
    group by q.cohort_month, q.channel, a.age_days
),
valued as (  -- Σ credit × value_D over the customers mature at D
    select q.cohort_month, q.channel, a.age_days, sum(marts.revenue_credit(p.revenue, q.credit)) as value
    from acquisition_next q
    cross join ages a
    join customer_purchases p
        on p.person_key = q.person_key
       and p.occurred_at < q.first_purchase_at + make_interval(days => a.age_days)
    where q.first_purchase_at + make_interval(days => a.age_days) <= %(as_of)s::timestamptz
    group by q.cohort_month, q.channel, a.age_days
)
select c.cohort_month, c.channel, c.age_days, c.customers, c.mature_customers, coalesce(v.value, 0)
from counted c
left join valued v using (cohort_month, channel, age_days);
