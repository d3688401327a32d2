drop table marts.markov_day_paths;
delete from ops.attribution_state;
