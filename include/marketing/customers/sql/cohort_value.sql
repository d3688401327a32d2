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
ends as (  -- each customer's acquisition at each age D, with the end of their first D days
    select q.person_key, q.cohort_month, q.channel, q.credit, a.age_days,
           q.first_purchase_at + make_interval(days => a.age_days) as age_end
    from acquisition_next q
    cross join ages a
),
counted as (  -- the cohort's customers, and those mature at D
    select cohort_month, channel, age_days,
           sum(credit) as customers,
           coalesce(sum(credit) filter (where age_end <= %(as_of)s::timestamptz), 0) as mature_customers
    from ends
    group by cohort_month, channel, age_days
),
valued as (  -- Σ credit × value_D over the customers mature at D
    select e.cohort_month, e.channel, e.age_days, sum(marts.revenue_credit(p.revenue, e.credit)) as value
    from ends e
    join customer_purchases p on p.person_key = e.person_key and p.occurred_at < e.age_end
    where e.age_end <= %(as_of)s::timestamptz
    group by e.cohort_month, e.channel, e.age_days
)
select c.cohort_month, c.channel, c.age_days, c.customers, c.mature_customers, coalesce(v.value, 0)
from counted c
left join valued v using (cohort_month, channel, age_days);
