-- The default orders extract (ORDERS_QUERY_FILE replaces it): the rows of table `orders`
-- changed since the watermark, oldest change first. %(since)s is the watermark minus
-- ORDERS_OVERLAP_MINUTES.
select conversion_id, occurred_at, user_id, anonymous_id, conversion_type, revenue, currency, updated_at
from orders
where updated_at > %(since)s
order by updated_at, conversion_id
