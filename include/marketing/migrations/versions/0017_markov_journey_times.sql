-- Each non-converting journey's touch times, in path order beside its channels: an incremental
-- run splits a journey at a person's earliest change (markov_journeys_splice.sql).
truncate marts.markov_journeys;
alter table marts.markov_journeys add column touched_at timestamptz[] not null;
alter table marts.markov_journeys add constraint markov_journeys_touched_at
    check (cardinality(touched_at) = cardinality(channels));

-- The transitions of a journey (rule 6, as marts.markov_steps) into its channels after the
-- first `after` and on to the outcome: those of a journey that kept its first `after` touches
-- and changed after them, less those of what it was, are what changed. Inlinable, like
-- markov_steps; `after` = 0 gives all of them.
create function marts.markov_steps_after(channels text[], outcome text, after integer)
    returns table (from_state text, to_state text)
    language sql immutable parallel safe
as $$
    select coalesce(channels[i - 1], '(start)'), channels[i]
    from generate_series(after + 1, cardinality(channels)) as i
    where i = 1 or channels[i] <> channels[i - 1]
    union all
    select channels[cardinality(channels)], outcome
    where cardinality(channels) > 0
$$;

delete from ops.attribution_state;
