-- One extract of the orders database: the latest version of each row it read (a row can be
-- read twice within the overlap). An order loaded before from the orders database whose row now
-- has other values (a refund, a corrected total) leaves core, queued, and comes back below
-- with the new values: a restatement, as a restated conversions file is. Unchanged rows (the
-- overlap) change nothing.
create temp table extracted on commit drop as
select distinct on (conversion_id) *
from raw.orders
where file_id = %(file_id)s
order by conversion_id, updated_at desc, line_number desc;

with removed as (
    delete from core.conversions c
    using extracted e, ops.load_manifest m
    where c.conversion_id = e.conversion_id
      and m.file_id = c.file_id
      and m.feed = 'orders'
      and (c.occurred_at, c.anonymous_id, c.user_id, c.conversion_type, c.revenue_original, c.currency)
          is distinct from (e.occurred_at, e.anonymous_id, e.user_id, e.conversion_type, e.revenue, e.currency)
    returning c.conversion_id
)
insert into ops.attribution_queue (kind, key, since, file_id)
select 'conversion', conversion_id, null, %(file_id)s
from removed;

-- The rows as conversion rows of this extract, merged by the native rules (conversions.sql).
insert into raw.conversions (
    file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
)
select file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
from extracted;
