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
changed_persons as (
    select key as person_key, min(coalesce(since, '-infinity'::timestamptz)) as since
    from consumed
    where kind = 'person'
    group by key
),

-- Only conversions from the earliest change on can move: an index range on time, usually the
-- last day, rather than every conversion of the history.
person_conversions as (
    select c.conversion_id
    from core.conversions c
    join changed_persons p
        on p.person_key = c.person_key
        and c.occurred_at >= p.since
    where c.occurred_at >= (select min(since) from changed_persons)
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
