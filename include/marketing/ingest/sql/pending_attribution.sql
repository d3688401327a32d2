-- Core tables whose changes still wait in the attribution queue (no attribution run has
-- consumed them yet): a person's touches, a conversion, a day of spend. `exists` stops at the
-- first queued row of a kind, however long the queue.
select tables.name
from (values
    ('person', 'touchpoints'), ('person', 'identities'),
    ('conversion', 'conversions'), ('spend_date', 'ad_spend')
) as tables (kind, name)
where exists (select 1 from ops.attribution_queue q where q.kind = tables.kind)
order by tables.name;
