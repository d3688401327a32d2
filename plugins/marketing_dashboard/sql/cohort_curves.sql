-- Cohort curves: realised value per customer by age, one line per acquisition channel, over the
-- cohorts of a period (docs/customers.md rule 6): Σ value / Σ mature_customers at each age.
-- Parameters: start, end (first and last cohort month; null = open).
select
    channel,
    age_days,
    sum(mature_customers) as mature_customers,
    sum(value) / nullif(sum(mature_customers), 0)::numeric as value_per_customer
from marts.cohort_value
where cohort_month >= coalesce(%(start)s::date, '-infinity') and cohort_month <= coalesce(%(end)s::date, 'infinity')
group by channel, age_days
order by channel, age_days;
