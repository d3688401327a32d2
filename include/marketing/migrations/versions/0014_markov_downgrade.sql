drop table marts.markov_removal_effects, marts.markov_credits, marts.markov_paths, marts.markov_transitions,
    marts.markov_journeys, marts.markov_channels, marts.markov_types;
drop function marts.markov_steps(text[], text);
drop function marts.markov_period(date, text), marts.markov_period_end(date, text);
alter table marts.attribution_paths
    drop column previous_channel,
    drop column markov_period,
    drop column markov_key;
delete from ops.attribution_state;
