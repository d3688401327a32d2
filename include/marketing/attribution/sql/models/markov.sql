-- markov: the data-driven model (docs/data_driven.md). A touch gets its channel's removal
-- effect over the sum of the removal effects of its path's touches (1 / n when that sum is 0),
-- from the fit of its conversion's type and period (what the fit, markov.py, writes: the removal
-- effects and each path key's sum). A conversion without an eligible touch gets 1.
-- The credit of one stored path row `p`; null: no credit (a channel whose removal effect is 0).
-- sql/markov_daily_sums.sql applies the same rule to the groups of marts.markov_day_paths (the
-- daily marts' `markov` rows): a change here is a change there.
case when p.touchpoint_event_id is null then 1.0::double precision
     else nullif(marts.markov_credit(markov_effect.removal_effect, markov.weight, markov.touches), 0) end
