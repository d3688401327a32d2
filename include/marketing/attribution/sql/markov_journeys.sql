-- The non-converting journeys (docs/data_driven.md, rule 2) of every person (%(all_persons)s)
-- or of the run's persons from the period of their `since` on, for the conversion types of
-- markov_journey_types: per (person, type, period), the person's touches of the period that lie
-- on no path of the person's conversions of the type (none at T with t ≤ T ≤ t + lookback), in
-- path order, repeats merged (rule 6). They are stored, and their transitions added to
-- markov_changes.
with persons as (
    select
        m.person_key,
        marts.markov_period((m.since at time zone %(reporting_timezone)s)::date, %(markov_period)s)::timestamp
            at time zone %(reporting_timezone)s as since_at
    from markov_persons m
),

null_touches as (
    select
        t.person_key,
        k.conversion_type,
        marts.markov_period((t.occurred_at at time zone %(reporting_timezone)s)::date, %(markov_period)s) as period_start,
        t.occurred_at,
        t.event_id,
        t.channel
    from core.touchpoints t
    cross join markov_journey_types k
    where (%(all_persons)s
           or (t.person_key = any(array(select person_key from persons))
               and exists (select from persons m where m.person_key = t.person_key and t.occurred_at >= m.since_at)))
      and not exists (
          select from core.conversions c
          where c.person_key = t.person_key
            and c.conversion_type = k.conversion_type
            and c.occurred_at >= t.occurred_at
            and c.occurred_at <= t.occurred_at + make_interval(hours => 24 * %(lookback_days)s)
      )
),

merged as (
    select
        null_touches.*,
        lag(channel) over (
            partition by person_key, conversion_type, period_start
            order by occurred_at, event_id collate "C"
        ) as previous_channel
    from null_touches
),

journeys as (
    select person_key, conversion_type, period_start, array_agg(channel order by occurred_at, event_id collate "C") as channels
    from merged
    where previous_channel is distinct from channel
    group by person_key, conversion_type, period_start
),

inserted as (
    insert into marts.markov_journeys (person_key, conversion_type, period_start, channels)
    select person_key, conversion_type, period_start, channels
    from journeys
    returning conversion_type, period_start, channels
)

insert into markov_changes (conversion_type, period_start, from_state, to_state, journeys)
select i.conversion_type, i.period_start, s.from_state, s.to_state, count(*)
from inserted i
cross join lateral marts.markov_steps(i.channels, '(null)') s
group by i.conversion_type, i.period_start, s.from_state, s.to_state;
