-- A range run's affected conversions: every conversion whose day (reporting time zone) is in the range, as
-- core has it now and as the credits have it (a conversion that left core or moved to another
-- day loses its old rows), and the spend of every day of the range. The queue is left alone.
with range_bounds as (
    select
        %(start_date)s::date::timestamp at time zone %(reporting_timezone)s as starts_at,
        (%(end_date)s::date + 1)::timestamp at time zone %(reporting_timezone)s as ends_before
),

conversions_in_range as (
    select c.conversion_id
    from core.conversions c
    cross join range_bounds b
    where c.occurred_at >= b.starts_at and c.occurred_at < b.ends_before
),

credited_in_range as (
    select a.conversion_id
    from marts.attribution_paths a
    where a.conversion_date between %(start_date)s::date and %(end_date)s::date
),

affected as (
    insert into attribution_affected (conversion_id)
    select conversion_id from conversions_in_range
    union
    select conversion_id from credited_in_range
    returning 1
),

spend_dates as (
    insert into attribution_spend_dates (date)
    select generate_series(%(start_date)s::date, %(end_date)s::date, interval '1 day')::date
    returning 1
)

select count(*) from affected;
