-- marts.cohort_value (docs/customers.md rules 5, 6): per cohort month, acquisition channel and
-- age D, the customers (Σ credit), those mature at D (first purchase + D days <= as_of) and
-- their realised value: Σ credit × revenue of every purchase before first purchase + D days.
-- Parameters: ages (int[]), as_of (timestamptz).
insert into marts.cohort_value (cohort_month, channel, age_days, customers, mature_customers, value)
with valued as (  -- value at D of each customer mature at D
    select c.person_key, a.age_days, sum(p.revenue) as value
    from customers_next c
    cross join unnest(%(ages)s::int[]) as a (age_days)
    join customer_purchases p
        on p.person_key = c.person_key
       and p.occurred_at < c.first_purchase_at + make_interval(days => a.age_days)
    where c.first_purchase_at + make_interval(days => a.age_days) <= %(as_of)s::timestamptz
    group by c.person_key, a.age_days
)
select
    q.cohort_month,
    q.channel,
    a.age_days,
    sum(q.credit),
    coalesce(sum(q.credit) filter (where v.person_key is not null), 0),
    coalesce(sum(marts.revenue_credit(v.value, q.credit)), 0)
from marts.customer_acquisition q
cross join unnest(%(ages)s::int[]) as a (age_days)
left join valued v on v.person_key = q.person_key and v.age_days = a.age_days
group by q.cohort_month, q.channel, a.age_days;
