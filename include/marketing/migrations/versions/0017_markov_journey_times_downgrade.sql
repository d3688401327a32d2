drop function marts.markov_steps_after(text[], text, integer);
alter table marts.markov_journeys drop constraint markov_journeys_touched_at;
alter table marts.markov_journeys drop column touched_at;
