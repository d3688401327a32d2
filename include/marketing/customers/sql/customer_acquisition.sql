-- Acquisition (docs/customers.md rule 3): the credits of each customer's first purchase under
-- the acquisition model, summed per channel. A first purchase with no credits under the model
-- (its conversion type is not attributed) counts whole for the unattributed label.
-- The first purchase's time rides along for cohort_value.sql. Parameters: model, unattributed_label.
create temp table acquisition_next on commit drop as
select
    c.person_key,
    coalesce(ac.channel, %(unattributed_label)s) as channel,
    sum(coalesce(ac.credit, 1.0))                as credit,
    c.cohort_month,
    c.first_purchase_at
from customers_next c
left join marts.attribution_credits ac
    on ac.conversion_id = c.first_conversion_id and ac.model = %(model)s
group by c.person_key, c.cohort_month, c.first_purchase_at, coalesce(ac.channel, %(unattributed_label)s);
analyze acquisition_next;
