-- An incremental run's scope, from the change queue: the queue rows are consumed here (deleted
-- in the run's transaction, so they come back if the run fails). Rows a load commits after
-- this statement's snapshot stay queued for the next run.
with consumed as (
    delete from ops.attribution_queue
    returning kind, key, since
),

queued_conversions as (
    select key as conversion_id
    from consumed
    where kind = 'conversion'
),

-- A person's changed touches can move the credit of their conversions from the earliest
-- changed touch on (since null: every conversion of the person, e.g. after identity stitching).
person_conversions as (
    select c.conversion_id
    from consumed q
    join core.conversions c
        on c.person_key = q.key
        and c.occurred_at >= coalesce(q.since, '-infinity'::timestamptz)
    where q.kind = 'person'
),

affected as (
    insert into attribution_affected (conversion_id)
    select conversion_id from queued_conversions
    union
    select conversion_id from person_conversions
    returning 1
),

spend_dates as (
    insert into attribution_spend_dates (date)
    select distinct key::date
    from consumed
    where kind = 'spend_date'
    returning 1
)

select (select count(*) from consumed), (select count(*) from affected);
