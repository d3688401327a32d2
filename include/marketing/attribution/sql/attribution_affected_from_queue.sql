-- An incremental run's affected conversions, from the change queue. The run holds the loads' advisory lock, so
-- no load can add to the queue until it commits: the caller empties the queue after this
-- statement (TRUNCATE: no dead rows to clean up; rolled back with the run if it fails).
with queued_conversions as (
    select key as conversion_id
    from ops.attribution_queue
    where kind = 'conversion'
),

-- A person's changed touches can move the credit of their conversions from the changed touch
-- on (since null: every conversion of the person, e.g. after identity stitching). Only
-- conversions from the earliest change on can move: an index range on time, usually the last
-- day, rather than every conversion of the history, matched to the queued persons in one hash.
-- A person may be queued several times: any of their rows that reaches back far enough counts.
person_conversions as (
    select c.conversion_id
    from core.conversions c
    where c.occurred_at >= (
            select min(coalesce(since, '-infinity'::timestamptz))
            from ops.attribution_queue
            where kind = 'person'
        )
      and exists (
          select from ops.attribution_queue p
          where p.kind = 'person'
            and p.key = c.person_key
            and c.occurred_at >= coalesce(p.since, '-infinity'::timestamptz)
      )
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
    from ops.attribution_queue
    where kind = 'spend_date'
    returning 1
)

select count(*) from affected;
