-- Customers, their first purchase and the BG/NBD inputs (docs/customers.md §1, §4).
-- Session time zone: REPORTING_TIMEZONE (the run sets it), so days and months are local ones.
-- Parameters: conversion_types (text[]), as_of (timestamptz: the latest conversion in core).

-- Purchases: conversions of the purchase types, refunds (negative revenue) included.
create temp table customer_purchases on commit drop as
select person_key collate "C" as person_key, conversion_id collate "C" as conversion_id, occurred_at, revenue,
       occurred_at::date as day  -- byte order ("C") for keys: sorting them is much cheaper
from core.conversions
where conversion_type = any(%(conversion_types)s::text[]);
analyze customer_purchases;

-- A customer is a person with a purchase of revenue > 0; the first such purchase by
-- (occurred_at, conversion_id) acquires them. customer_id numbers them for the model fit (in
-- no particular order: the fit's inputs and predictions are matched on it).
create temp table customers_next on commit drop as
with firsts as (
    select distinct on (person_key) person_key, conversion_id, occurred_at, day
    from customer_purchases
    where revenue > 0
    order by person_key, occurred_at, conversion_id
),
days as (  -- revenue summed per purchase day; a day counts as a purchase when its sum is > 0
    select person_key, day, sum(revenue) as revenue
    from customer_purchases
    group by person_key, day
)
select
    row_number() over ()                                                       as customer_id,
    f.person_key,
    f.conversion_id                                                            as first_conversion_id,
    f.occurred_at                                                              as first_purchase_at,
    date_trunc('month', f.day)::date                                           as cohort_month,
    (count(*) filter (where d.day > f.day and d.revenue > 0))::integer         as frequency,
    coalesce(max(d.day) filter (where d.day > f.day and d.revenue > 0) - f.day, 0) as recency_days,
    %(as_of)s::timestamptz::date - f.day                                       as t_days,
    coalesce(avg(d.revenue) filter (where d.day > f.day and d.revenue > 0), 0) as monetary_value,
    sum(d.revenue)                                                             as value_to_date
from firsts f
join days d on d.person_key = f.person_key
group by f.person_key, f.conversion_id, f.occurred_at, f.day;
alter table customers_next add primary key (person_key);
analyze customers_next;
