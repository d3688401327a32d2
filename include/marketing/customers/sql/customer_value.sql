-- marts.customer_value (docs/customers.md rule 10): the inputs beside the predictions of the
-- fitted models (customer_predictions, written by the run; null columns when not fitted).
insert into marts.customer_value (
    person_key, first_conversion_id, first_purchase_at, cohort_month, frequency, recency_days,
    t_days, monetary_value, value_to_date, p_alive, expected_purchases, expected_order_value,
    predicted_value, predicted_ltv
)
select
    c.person_key, c.first_conversion_id, c.first_purchase_at, c.cohort_month, c.frequency,
    c.recency_days, c.t_days, c.monetary_value, c.value_to_date,
    p.p_alive, p.expected_purchases, p.expected_order_value,
    p.expected_purchases * p.expected_order_value,
    c.value_to_date::double precision + p.expected_purchases * p.expected_order_value
from customers_next c
left join customer_predictions p using (customer_id)
order by c.person_key;  -- the primary key's order: the index is built by appending
