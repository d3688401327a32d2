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
-- One sort of the purchases by (person, day) feeds every step: the first purchase is a window
-- over the person, the days and the customers are groups of sorted rows. Hash aggregation of
-- millions of groups with numeric sums needs several times work_mem and spills, so it is off
-- for this statement.
set local enable_hashagg = off;
create temp table customers_next on commit drop as
with ranked as (  -- each purchase beside the time of its person's first purchase (null: no customer)
    select person_key, conversion_id, occurred_at, day, revenue,
           min(occurred_at) filter (where revenue > 0) over (
               partition by person_key order by day rows between unbounded preceding and unbounded following
           ) as first_purchase_at
    from customer_purchases
),
days as (  -- revenue summed per purchase day; a day counts as a purchase when its sum is > 0
    select person_key, day, sum(revenue) as revenue,
           min(first_purchase_at) as first_purchase_at,
           min(first_purchase_at)::date as first_day,
           -- ties at the first purchase's time go to the smallest conversion_id
           min(conversion_id) filter (where revenue > 0 and occurred_at = first_purchase_at) as first_conversion_id
    from ranked
    where first_purchase_at is not null
    group by person_key, day
)
select
    row_number() over ()                                                       as customer_id,
    person_key,
    min(first_conversion_id)                                                   as first_conversion_id,
    min(first_purchase_at)                                                     as first_purchase_at,
    date_trunc('month', min(first_day))::date                                  as cohort_month,
    (count(*) filter (where day > first_day and revenue > 0))::integer         as frequency,
    coalesce(max(day) filter (where day > first_day and revenue > 0) - min(first_day), 0) as recency_days,
    %(as_of)s::timestamptz::date - min(first_day)                              as t_days,
    coalesce(avg(revenue) filter (where day > first_day and revenue > 0), 0)   as monetary_value,
    sum(revenue)                                                               as value_to_date
from days
group by person_key;
reset enable_hashagg;
analyze customers_next;
